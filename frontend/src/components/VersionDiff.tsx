/**
 * A line diff between two versions of an answer (the `diff` package), rendered as text: model output is
 * untrusted, so no HTML from it is ever set. A lazy chunk: it loads when a diff is shown.
 */
import { diffLines } from "diff";

export interface DiffLine {
  kind: "added" | "removed" | "same";
  text: string;
}

/** The lines of `after` against `before`, each marked added, removed or the same. */
export function lineDiff(before: string, after: string): DiffLine[] {
  const lines: DiffLine[] = [];
  for (const part of diffLines(before, after)) {
    const kind = part.added ? "added" : part.removed ? "removed" : "same";
    const text = part.value.endsWith("\n") ? part.value.slice(0, -1) : part.value;
    for (const line of text.split("\n")) lines.push({ kind, text: line });
  }
  return lines;
}

const MARK = { added: "+", removed: "-", same: " " } as const;
const STYLE = {
  added: "bg-emerald-50 text-emerald-900 dark:bg-emerald-950/40 dark:text-emerald-200",
  removed: "bg-red-50 text-red-900 dark:bg-red-950/40 dark:text-red-200",
  same: "text-zinc-600 dark:text-zinc-400",
} as const;

export default function VersionDiff({ before, after, label }: { before: string; after: string; label: string }) {
  const lines = lineDiff(before, after);
  const added = lines.filter((line) => line.kind === "added").length;
  const removed = lines.filter((line) => line.kind === "removed").length;
  return (
    <figure aria-label={label} className="my-3 overflow-hidden rounded-xl border border-zinc-200 dark:border-zinc-800">
      <figcaption className="border-b border-zinc-200 bg-zinc-100/80 px-3 py-1.5 text-xs text-zinc-600 dark:border-zinc-800 dark:bg-zinc-900 dark:text-zinc-400">
        {label}: <span className="text-emerald-700 dark:text-emerald-300">+{added}</span> <span className="text-red-700 dark:text-red-300">−{removed}</span> lines
      </figcaption>
      <pre className="max-h-96 overflow-auto py-2 font-mono text-xs leading-relaxed">
        {lines.map((line, index) => (
          <div key={index} data-diff={line.kind} className={`px-3 ${STYLE[line.kind]}`}>
            <span aria-hidden="true" className="mr-2 select-none">{MARK[line.kind]}</span>
            {line.kind === "same" ? null : <span className="sr-only">{line.kind === "added" ? "Added: " : "Removed: "}</span>}
            {line.text}
          </div>
        ))}
      </pre>
    </figure>
  );
}
