/** Languages the UI knows: labels, file extensions for downloads, and the highlighter's name for each. */

export interface LanguageInfo {
  id: string;
  label: string;
  extension: string;
}

export const LANGUAGES: LanguageInfo[] = [
  { id: "python", label: "Python", extension: "py" },
  { id: "typescript", label: "TypeScript", extension: "ts" },
  { id: "javascript", label: "JavaScript", extension: "js" },
  { id: "go", label: "Go", extension: "go" },
  { id: "rust", label: "Rust", extension: "rs" },
  { id: "java", label: "Java", extension: "java" },
  { id: "kotlin", label: "Kotlin", extension: "kt" },
  { id: "c", label: "C", extension: "c" },
  { id: "cpp", label: "C++", extension: "cpp" },
  { id: "csharp", label: "C#", extension: "cs" },
  { id: "php", label: "PHP", extension: "php" },
  { id: "ruby", label: "Ruby", extension: "rb" },
  { id: "swift", label: "Swift", extension: "swift" },
  { id: "sql", label: "SQL", extension: "sql" },
  { id: "bash", label: "Bash", extension: "sh" },
  { id: "html", label: "HTML", extension: "html" },
  { id: "css", label: "CSS", extension: "css" },
  { id: "json", label: "JSON", extension: "json" },
  { id: "yaml", label: "YAML", extension: "yaml" },
  { id: "dockerfile", label: "Dockerfile", extension: "Dockerfile" },
  { id: "markdown", label: "Markdown", extension: "md" },
];

// A Map, not an object literal: fence languages come from model output, and a plain-object lookup of
// "constructor" or "__proto__" returns Object.prototype's members instead of undefined.
const ALIASES = new Map<string, string>(Object.entries({
  py: "python",
  python3: "python",
  ts: "typescript",
  tsx: "typescript",
  js: "javascript",
  jsx: "javascript",
  node: "javascript",
  golang: "go",
  rs: "rust",
  kt: "kotlin",
  "c++": "cpp",
  cc: "cpp",
  hpp: "cpp",
  h: "c",
  cs: "csharp",
  "c#": "csharp",
  rb: "ruby",
  sh: "bash",
  shell: "bash",
  zsh: "bash",
  console: "bash",
  xml: "html",
  svg: "html",
  yml: "yaml",
  docker: "dockerfile",
  md: "markdown",
  postgres: "sql",
  postgresql: "sql",
  sqlite: "sql",
  mysql: "sql",
}));

export function normalizeLanguage(language: string | null | undefined): string | null {
  if (!language) return null;
  const lower = language.trim().toLowerCase();
  return ALIASES.get(lower) ?? lower;
}

export function languageInfo(language: string | null | undefined): LanguageInfo | undefined {
  const id = normalizeLanguage(language);
  return LANGUAGES.find((info) => info.id === id);
}

export function languageLabel(language: string | null | undefined): string {
  if (!language) return "Text";
  return languageInfo(language)?.label ?? language;
}

// What the server's file name rule produces (snippets/filenames.py): a safe stem and an extension, or a
// special file such as Dockerfile. Such a name is the API's `Snippet.filename`, used as it is.
const SERVER_FILENAME = /^[\p{L}\p{N}_][\p{L}\p{N}_.-]*\.[A-Za-z0-9]{1,10}$/u;
const SPECIAL_FILES = new Set(["dockerfile", "containerfile", "makefile"]);

/** Whether `name` is a file name as the API gives it (`add_numbers.py`), not a title to turn into one. */
export function isFileName(name: string | null | undefined): name is string {
  if (!name || name.length > 100) return false;
  return SERVER_FILENAME.test(name) || SPECIAL_FILES.has(name.toLowerCase());
}

/**
 * A download name for code. One rule with the API: pass a snippet's `filename` (what
 * GET /snippets/{id}/raw names the file) and it is used as it is; only code without one (a block of an
 * answer still streaming) gets its title slugged, with the language's extension.
 */
export function downloadName(language: string | null | undefined, title?: string | null): string {
  if (isFileName(title)) return title;
  const info = languageInfo(language);
  if (info?.id === "dockerfile") return "Dockerfile";
  const extension = info?.extension ?? "txt";
  const stem =
    (title ?? "")
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-+|-+$/g, "")
      .slice(0, 48) || "snippet";
  return `${stem}.${extension}`;
}
