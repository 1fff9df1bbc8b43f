import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { snippet } from "../test/fixtures";
import { Markdown, safeUrl } from "./Markdown";

function renderMarkdown(text: string) {
  return render(<Markdown>{text}</Markdown>).container;
}

describe("Markdown of untrusted model output", () => {
  it("shows a <script> tag as text and never creates a script element", () => {
    const container = renderMarkdown("Here:\n\n<script>window.pwned = true</script>\n\ndone");
    expect(container.querySelector("script")).toBeNull();
    expect(container.textContent).toContain("<script>window.pwned = true</script>");
    expect((window as unknown as { pwned?: boolean }).pwned).toBeUndefined();
  });

  it("renders <img onerror> inert: no img element, no event handler attribute", () => {
    const container = renderMarkdown('Look <img src="x" onerror="alert(1)"> here');
    expect(container.querySelector("img")).toBeNull();
    expect(container.querySelector("[onerror]")).toBeNull();
    expect(container.innerHTML).not.toMatch(/<img/i);
  });

  it("drops javascript: links, including obfuscated ones", () => {
    const container = renderMarkdown(
      "[a](javascript:alert(1)) [b](JaVaScRiPt:alert(1)) [c](java\tscript:alert(1)) [d](data:text/html,<b>x</b>) <javascript:alert(1)>",
    );
    const hrefs = [...container.querySelectorAll("[href]")].map((element) => element.getAttribute("href") ?? "");
    for (const href of hrefs) expect(href.replace(/\s/g, "")).not.toMatch(/script:|data:/i);
    // The link texts stay readable.
    expect(container.textContent).toMatch(/^a b /);
  });

  it("keeps ordinary links and opens them safely", () => {
    renderMarkdown("[docs](https://example.com/docs) and [section](#install)");
    const docs = screen.getByRole("link", { name: "docs" });
    expect(docs).toHaveAttribute("href", "https://example.com/docs");
    expect(docs).toHaveAttribute("rel", expect.stringContaining("noopener"));
    expect(screen.getByRole("link", { name: "section" })).toHaveAttribute("href", "#install");
  });

  it("turns images into links so the page never fetches a remote pixel by itself", () => {
    const container = renderMarkdown("![diagram](https://tracker.example/p.png)");
    expect(container.querySelector("img")).toBeNull();
    expect(screen.getByRole("link", { name: "diagram" })).toHaveAttribute("href", "https://tracker.example/p.png");
  });

  it("renders fenced code as a code block with its language, copy and download", async () => {
    const writeText = vi.fn(async () => undefined);
    Object.defineProperty(window, "isSecureContext", { value: true, configurable: true });
    Object.defineProperty(navigator, "clipboard", { value: { writeText }, configurable: true });
    renderMarkdown("```python\nprint('<b>hi</b>')\n```");
    expect(screen.getByText("Python")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: /download as snippet\.py/i })).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: /copy python code/i }));
    expect(writeText).toHaveBeenCalledWith("print('<b>hi</b>')");
    await waitFor(() => expect(screen.getByText("Copied")).toBeInTheDocument());
    // The code is text, even once highlighted.
    expect(document.querySelector("pre b")).toBeNull();
  });
});

describe("code fences with hostile language names", () => {
  // Names that live on Object.prototype once reached it through a plain-object alias table and crashed
  // the page as soon as the highlighter loaded; the snippet is stored with that language, so it stuck.
  it.each(["constructor", "__proto__", "toString", "hasOwnProperty", "valueOf"])(
    "renders a ```%s fence as plain code",
    async (name) => {
      const container = renderMarkdown(`\`\`\`python\nprint(1)\n\`\`\`\n\n\`\`\`${name}\nlet x = "${name}";\n\`\`\``);
      // Once the Python block is coloured the highlighter has run over every block on the page.
      await waitFor(() => expect(container.querySelector("code.language-python")).not.toBeNull());
      expect(screen.getByLabelText(`${name} code`)).toHaveTextContent(`let x = "${name}";`);
      expect(screen.getByRole("button", { name: `Copy ${name} code` })).toBeInTheDocument();
      expect(screen.getByRole("button", { name: `Download as snippet.txt` })).toBeInTheDocument();
    },
  );
});

describe("safeUrl", () => {
  it.each([
    ["https://a.example/x", "https://a.example/x"],
    ["http://a.example", "http://a.example"],
    ["mailto:me@example.com", "mailto:me@example.com"],
    ["/relative/path", "/relative/path"],
    ["#anchor", "#anchor"],
    ["docs/page?a=b:c", "docs/page?a=b:c"],
    ["javascript:alert(1)", ""],
    [" javascript:alert(1)", ""],
    ["vbscript:msgbox", ""],
    ["data:text/html;base64,PHNjcmlwdD4=", ""],
    ["java\tscript:alert(1)", ""],
    ["\u0001javascript:alert(1)", ""],
  ])("%s → %s", (input, expected) => {
    expect(safeUrl(input)).toBe(expected);
  });
});

describe("download names of code blocks", () => {
  it("use the API's file name of the stored snippet with the same code", () => {
    const markdown = "Here:\n\n```python\ndef add_numbers(a, b):\n    return a + b\n```\n";
    const snippets = [snippet({ code: "def add_numbers(a, b):\n    return a + b", filename: "add_numbers.py" })];
    render(<Markdown snippets={snippets}>{markdown}</Markdown>);
    expect(screen.getByRole("button", { name: "Download as add_numbers.py" })).toBeInTheDocument();
  });
});
