/** Which code blocks can run in the browser, and how: Python (Pyodide), JavaScript, or a page preview. */
import { normalizeLanguage } from "../lib/languages";

export type RunKind = "python" | "javascript" | "preview";

const KINDS: Record<string, RunKind> = {
  python: "python",
  javascript: "javascript",
  // normalizeLanguage maps svg and xml to html.
  html: "preview",
  css: "preview",
};

export function runKindOf(language: string | null | undefined): RunKind | null {
  const normalized = normalizeLanguage(language);
  return normalized ? (KINDS[normalized] ?? null) : null;
}
