/** A code block: language label, copy and download, and syntax colours once the highlighter has loaded. */
import { useEffect, useMemo, useState } from "react";
import { copyText, downloadText } from "../lib/clipboard";
import { downloadName, languageLabel, normalizeLanguage } from "../lib/languages";
import { CheckIcon, CopyIcon, DownloadIcon } from "./icons";

type Highlighter = (code: string, language: string | null) => string | null;
let highlighter: Highlighter | null = null;
let loading: Promise<Highlighter> | null = null;

function loadHighlighter(): Promise<Highlighter> {
  loading ??= import("../lib/highlight").then((module) => (highlighter = module.highlight));
  return loading;
}

function useHighlighter(): Highlighter | null {
  const [loaded, setLoaded] = useState<Highlighter | null>(() => highlighter);
  useEffect(() => {
    if (loaded) return;
    let active = true;
    loadHighlighter().then(
      (fn) => active && setLoaded(() => fn),
      () => undefined, // plain text is fine when the chunk cannot load
    );
    return () => {
      active = false;
    };
  }, [loaded]);
  return loaded;
}

export interface CodeBlockProps {
  code: string;
  language?: string | null;
  /** Used to name the downloaded file. */
  title?: string | null;
  /** Cap the height (previews in lists). */
  compact?: boolean;
}

export function CodeBlock({ code, language, title, compact = false }: CodeBlockProps) {
  const highlight = useHighlighter();
  const normalized = normalizeLanguage(language);
  const html = useMemo(() => (highlight ? highlight(code, normalized) : null), [highlight, code, normalized]);
  const [copied, setCopied] = useState<"idle" | "copied" | "failed">("idle");

  useEffect(() => {
    if (copied === "idle") return;
    const timer = setTimeout(() => setCopied("idle"), 1800);
    return () => clearTimeout(timer);
  }, [copied]);

  const copy = () => copyText(code).then(() => setCopied("copied"), () => setCopied("failed"));
  const label = languageLabel(language);

  return (
    <figure className="code-block group my-4 overflow-hidden rounded-xl border border-zinc-200 bg-zinc-50 dark:border-zinc-800 dark:bg-zinc-950">
      <figcaption className="flex items-center justify-between gap-2 border-b border-zinc-200 bg-zinc-100/80 px-3 py-1.5 text-xs dark:border-zinc-800 dark:bg-zinc-900">
        <span className="font-medium text-zinc-600 dark:text-zinc-400">{label}</span>
        <span className="flex items-center gap-1">
          <span className="sr-only" aria-live="polite">
            {copied === "copied" ? "Code copied" : copied === "failed" ? "Copy failed" : ""}
          </span>
          <button
            type="button"
            onClick={copy}
            className="inline-flex items-center gap-1 rounded-md px-2 py-1 text-zinc-600 hover:bg-zinc-200 hover:text-zinc-900 focus-visible:outline-2 focus-visible:outline-indigo-500 dark:text-zinc-400 dark:hover:bg-zinc-800 dark:hover:text-zinc-100"
            aria-label={`Copy ${label} code`}
          >
            {copied === "copied" ? <CheckIcon className="text-emerald-600" /> : <CopyIcon />}
            <span>{copied === "copied" ? "Copied" : copied === "failed" ? "Failed" : "Copy"}</span>
          </button>
          <button
            type="button"
            onClick={() => downloadText(code, downloadName(language, title))}
            className="inline-flex items-center gap-1 rounded-md px-2 py-1 text-zinc-600 hover:bg-zinc-200 hover:text-zinc-900 focus-visible:outline-2 focus-visible:outline-indigo-500 dark:text-zinc-400 dark:hover:bg-zinc-800 dark:hover:text-zinc-100"
            aria-label={`Download as ${downloadName(language, title)}`}
          >
            <DownloadIcon />
            <span className="hidden sm:inline">Download</span>
          </button>
        </span>
      </figcaption>
      <pre
        className={`hljs overflow-x-auto p-4 font-mono text-[13px] leading-relaxed ${compact ? "max-h-48 overflow-y-hidden" : ""}`}
        tabIndex={0}
        aria-label={`${label} code`}
      >
        {html !== null ? (
          <code className={normalized ? `language-${normalized}` : undefined} dangerouslySetInnerHTML={{ __html: html }} />
        ) : (
          <code>{code}</code>
        )}
      </pre>
    </figure>
  );
}
