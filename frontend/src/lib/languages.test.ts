import { describe, expect, it } from "vitest";
import { downloadName, isFileName, languageInfo, languageLabel, normalizeLanguage } from "./languages";

// Fence languages come from model output and are stored with snippets: names that live on
// Object.prototype must be plain unknown languages, never the prototype's functions.
const PROTOTYPE_NAMES = ["constructor", "__proto__", "toString", "hasOwnProperty", "valueOf", "isPrototypeOf", "__defineGetter__"];

describe("languages", () => {
  it("resolves aliases case-insensitively", () => {
    expect(normalizeLanguage(" Py ")).toBe("python");
    expect(normalizeLanguage("C++")).toBe("cpp");
    expect(normalizeLanguage("rust")).toBe("rust");
    expect(normalizeLanguage("")).toBeNull();
    expect(languageLabel("yml")).toBe("YAML");
    expect(downloadName("golang", "HTTP fetcher")).toBe("http-fetcher.go");
  });

  it.each(PROTOTYPE_NAMES)("treats %s as an unknown language, not a prototype property", (name) => {
    expect(normalizeLanguage(name)).toBe(name.toLowerCase());
    expect(typeof normalizeLanguage(name)).toBe("string");
    expect(languageInfo(name)).toBeUndefined();
    expect(languageLabel(name)).toBe(name);
    expect(downloadName(name, "x")).toBe("x.txt");
  });
});

describe("file names: one rule with the API", () => {
  it("uses the API's Snippet.filename as it is", () => {
    expect(downloadName("python", "add_numbers.py")).toBe("add_numbers.py");
    expect(downloadName("python", "número_de_línea.py")).toBe("número_de_línea.py");
    expect(downloadName("dockerfile", "Dockerfile")).toBe("Dockerfile");
    expect(downloadName(null, "plain_words.txt")).toBe("plain_words.txt");
  });

  it("only slugs a title that is not a file name", () => {
    expect(downloadName("python", "def add_numbers(...)")).toBe("def-add-numbers.py");
    expect(isFileName("def add_numbers(...)")).toBe(false);
    expect(isFileName("../etc/passwd.py")).toBe(false);
    expect(isFileName(".hidden.py")).toBe(false);
    expect(isFileName("add_numbers.py")).toBe(true);
  });
});
