/**
 * A code block: language label, its check (passed, or its problems at their lines), copy, download, Run
 * (Python, JavaScript, an HTML/CSS/SVG preview; in a sandbox, see src/run/) and syntax colours once the
 * highlighter has loaded.
 */
import { lazy, Suspense, useEffect, useId, useMemo, useState } from "react";
import type { SnippetCheck } from "../api/types";
import { copyText, downloadText } from "../lib/clipboard";
import { downloadName, languageLabel, normalizeLanguage } from "../lib/languages";
import { plural } from "../lib/format";
import { runKindOf, type RunKind } from "../run/kinds";
import { CheckIcon, CopyIcon, DownloadIcon } from "./icons";

// The runner (and, inside its sandbox, Pyodide) loads only when the user presses Run.
const RunPanel = lazy(() => import("../run/RunPanel"));

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
  /** What the server's checker found in this code; absent: nothing to show. */
  check?: SnippetCheck | null | undefined;
  /** Offer Run / Preview (answers; not the previews in lists). */
  runnable?: boolean;
}

export function CodeBlock({ code, language, title, compact = false, check, runnable = false }: CodeBlockProps) {
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
  const problems = check?.status === "failed" ? check.diagnostics : [];
  const [showProblems, setShowProblems] = useState(false);
  const problemsId = useId();
  const runKind: RunKind | null = runnable ? runKindOf(language) : null;
  const [runs, setRuns] = useState(0);

  return (
    <figure className="code-block group my-4 overflow-hidden rounded-xl border border-zinc-200 bg-zinc-50 dark:border-zinc-800 dark:bg-zinc-950">
      <figcaption className="flex items-center justify-between gap-2 border-b border-zinc-200 bg-zinc-100/80 px-3 py-1.5 text-xs dark:border-zinc-800 dark:bg-zinc-900">
        <span className="flex items-center gap-2">
          <span className="font-medium text-zinc-600 dark:text-zinc-400">{label}</span>
          <CheckBadge check={check} open={showProblems} controls={problemsId} onToggle={() => setShowProblems((was) => !was)} />
        </span>
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
          {runKind ? (
            <button
              type="button"
              onClick={() => setRuns((count) => count + 1)}
              className="inline-flex items-center gap-1 rounded-md px-2 py-1 font-medium text-indigo-700 hover:bg-indigo-100 focus-visible:outline-2 focus-visible:outline-indigo-500 dark:text-indigo-300 dark:hover:bg-indigo-500/20"
              aria-label={runKind === "preview" ? `Preview ${label}` : `Run ${label} code`}
            >
              <span aria-hidden="true">▶</span> {runKind === "preview" ? "Preview" : runs ? "Run again" : "Run"}
            </button>
          ) : null}
        </span>
      </figcaption>
      {showProblems && problems.length ? <ProblemList id={problemsId} problems={problems} /> : null}
      <div className="flex">
        {problems.length ? <LineGutter code={code} problems={problems} /> : null}
        <pre
          className={`hljs min-w-0 flex-1 overflow-x-auto p-4 font-mono text-[13px] leading-relaxed ${compact ? "max-h-48 overflow-y-hidden" : ""}`}
          tabIndex={0}
          aria-label={`${label} code`}
        >
          {html !== null ? (
            <code className={normalized ? `language-${normalized}` : undefined} dangerouslySetInnerHTML={{ __html: html }} />
          ) : (
            <code>{code}</code>
          )}
        </pre>
      </div>
      {runKind && runs > 0 ? (
        <Suspense fallback={<p className="border-t border-zinc-200 px-3 py-2 text-xs text-zinc-500 dark:border-zinc-800">Loading the runner…</p>}>
          <RunPanel key={runs} kind={runKind} code={code} language={normalized} onClose={() => setRuns(0)} />
        </Suspense>
      ) : null}
    </figure>
  );
}

type Diagnostic = SnippetCheck["diagnostics"][number];

/** "passed", or "N problems" that opens the list; nothing for unchecked code (there is nothing to claim). */
function CheckBadge({ check, open, controls, onToggle }: { check: SnippetCheck | null | undefined; open: boolean; controls: string; onToggle: () => void }) {
  if (!check || check.status === "unchecked") return null;
  const by = check.checker ? ` by ${check.checker}` : "";
  if (check.status === "passed") {
    return (
      <span className="inline-flex items-center gap-1 rounded-full bg-emerald-50 px-2 py-0.5 font-medium text-emerald-800 ring-1 ring-inset ring-emerald-600/20 dark:bg-emerald-500/10 dark:text-emerald-300" title={`Checked${by}: no problems found`}>
        <CheckIcon className="size-3" /> passed
      </span>
    );
  }
  const count = check.diagnostics.length;
  return (
    <button
      type="button"
      onClick={onToggle}
      aria-expanded={open}
      aria-controls={controls}
      title={`Checked${by}`}
      className="inline-flex items-center gap-1 rounded-full bg-red-50 px-2 py-0.5 font-medium text-red-800 ring-1 ring-inset ring-red-600/20 hover:bg-red-100 dark:bg-red-500/10 dark:text-red-300"
    >
      {count ? plural(count, "problem") : "check failed"}
    </button>
  );
}

function ProblemList({ id, problems }: { id: string; problems: Diagnostic[] }) {
  return (
    <ul id={id} aria-label="Problems" className="space-y-0.5 border-b border-red-200 bg-red-50/60 px-3 py-2 font-mono text-xs text-red-900 dark:border-red-900/50 dark:bg-red-950/30 dark:text-red-200">
      {problems.map((problem, index) => (
        <li key={index}>
          <span className="tabular-nums">
            {problem.line}:{problem.column}
          </span>
          {problem.code ? <span className="ml-2 font-semibold">{problem.code}</span> : null}
          {/* The checker's message quotes model output: plain text, never HTML. */}
          <span className="ml-2 whitespace-pre-wrap">{problem.message}</span>
        </li>
      ))}
    </ul>
  );
}

/** Line numbers beside the code, the lines with a problem marked (same font and leading as the code). */
function LineGutter({ code, problems }: { code: string; problems: Diagnostic[] }) {
  const byLine = new Map<number, string[]>();
  for (const problem of problems) byLine.set(problem.line, [...(byLine.get(problem.line) ?? []), problem.message]);
  const lines = code.split("\n").length;
  return (
    <div aria-hidden="true" className="select-none py-4 text-right font-mono text-[13px] leading-relaxed text-zinc-400">
      {Array.from({ length: lines }, (_, index) => {
        const messages = byLine.get(index + 1);
        return (
          <div
            key={index}
            data-problem-line={messages ? index + 1 : undefined}
            title={messages?.join("\n")}
            className={`px-2 tabular-nums ${messages ? "bg-red-100 font-semibold text-red-700 dark:bg-red-950/60 dark:text-red-300" : ""}`}
          >
            {index + 1}
          </div>
        );
      })}
    </div>
  );
}
