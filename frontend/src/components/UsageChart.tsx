/** Tokens (bars) and cost (line) per day, as a small SVG: no chart library, loaded with the Usage page only. */
import { useEffect, useId, useState } from "react";
import type { UsageByDay } from "../api/types";
import { formatCompact, formatNumber, formatUsd } from "../lib/format";

const WIDTH = 720;
const HEIGHT = 240;
// The right margin holds the cost axis: sub-cent labels such as "$0.00038" need about 60 units.
const PAD = { top: 16, right: 64, bottom: 28, left: 48 };
const PAD_NARROW = { top: 20, right: 110, bottom: 40, left: 84 };

function niceMax(value: number): number {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  const step = [1, 2, 2.5, 5, 10].find((s) => s * power >= value) ?? 10;
  return step * power;
}

function shortDate(iso: string): string {
  return new Date(`${iso.slice(0, 10)}T00:00:00Z`).toLocaleDateString(undefined, { month: "short", day: "numeric", timeZone: "UTC" });
}

/** The SVG scales with its box: on a phone its 11-unit labels would render at ~5 px, so they grow there. */
export function labelClass(narrow: boolean): string {
  return narrow ? "text-[22px]" : "text-[11px]";
}

function useNarrow(query = "(max-width: 639px)"): boolean {
  const [narrow, setNarrow] = useState(() => typeof window.matchMedia === "function" && window.matchMedia(query).matches);
  useEffect(() => {
    if (typeof window.matchMedia !== "function") return;
    const media = window.matchMedia(query);
    const onChange = () => setNarrow(media.matches);
    media.addEventListener("change", onChange);
    return () => media.removeEventListener("change", onChange);
  }, [query]);
  return narrow;
}

export default function UsageChart({ rows }: { rows: UsageByDay[] }) {
  const [hover, setHover] = useState<number | null>(null);
  const narrow = useNarrow();
  const label = labelClass(narrow);
  const titleId = useId();
  const pad = narrow ? PAD_NARROW : PAD;
  const innerW = WIDTH - pad.left - pad.right;
  const innerH = HEIGHT - pad.top - pad.bottom;
  const tokens = rows.map((row) => row.prompt_tokens + row.completion_tokens);
  const maxTokens = niceMax(Math.max(0, ...tokens));
  const maxCost = niceMax(Math.max(0, ...rows.map((row) => row.cost_usd)));
  const slot = innerW / Math.max(1, rows.length);
  const barW = Math.max(2, Math.min(28, slot * 0.7));
  const x = (i: number) => pad.left + slot * i + slot / 2;
  const yTokens = (value: number) => pad.top + innerH - (value / maxTokens) * innerH;
  const yCost = (value: number) => pad.top + innerH - (value / maxCost) * innerH;
  const costPath = rows.map((row, i) => `${i === 0 ? "M" : "L"}${x(i).toFixed(1)},${yCost(row.cost_usd).toFixed(1)}`).join(" ");
  const labelEvery = Math.ceil(rows.length / (narrow ? 4 : 8));
  const active = hover !== null ? rows[hover] : undefined;

  return (
    <figure className="relative">
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} className="h-auto w-full" role="img" aria-labelledby={titleId} onMouseLeave={() => setHover(null)}>
        <title id={titleId}>
          Tokens and cost per day over the last {rows.length} days: {formatNumber(tokens.reduce((a, b) => a + b, 0))} tokens in total.
        </title>
        {[0, 0.25, 0.5, 0.75, 1].map((fraction) => {
          const y = pad.top + innerH - fraction * innerH;
          return (
            <g key={fraction}>
              <line x1={pad.left} x2={WIDTH - pad.right} y1={y} y2={y} className="stroke-zinc-200 dark:stroke-zinc-800" strokeDasharray={fraction ? "3 3" : undefined} />
              <text x={pad.left - 6} y={y + (narrow ? 8 : 4)} textAnchor="end" className={`fill-zinc-500 ${label}`}>
                {formatCompact(maxTokens * fraction)}
              </text>
              <text x={WIDTH - pad.right + 6} y={y + (narrow ? 8 : 4)} className={`fill-amber-600 dark:fill-amber-400 ${label}`}>
                {formatUsd(maxCost * fraction)}
              </text>
            </g>
          );
        })}
        {rows.map((row, i) => {
          const value = tokens[i] ?? 0;
          const top = yTokens(value);
          return (
            <g key={row.date} onMouseEnter={() => setHover(i)}>
              <rect x={x(i) - slot / 2} y={pad.top} width={slot} height={innerH} fill="transparent" />
              <rect x={x(i) - barW / 2} y={top} width={barW} height={pad.top + innerH - top} rx={2} className={hover === i ? "fill-indigo-500" : "fill-indigo-400/80 dark:fill-indigo-500/70"} />
              {i % labelEvery === 0 ? (
                <text x={x(i)} y={HEIGHT - (narrow ? 10 : 8)} textAnchor="middle" className={`fill-zinc-500 ${label}`}>
                  {shortDate(row.date)}
                </text>
              ) : null}
            </g>
          );
        })}
        <path d={costPath} fill="none" strokeWidth={2} className="stroke-amber-500" strokeLinejoin="round" />
      </svg>
      <figcaption className="mt-2 flex flex-wrap items-center gap-4 text-xs text-zinc-600 dark:text-zinc-400">
        <span className="flex items-center gap-1.5">
          <span className="inline-block size-2.5 rounded-sm bg-indigo-500" /> Tokens
        </span>
        <span className="flex items-center gap-1.5">
          <span className="inline-block h-0.5 w-4 bg-amber-500" /> Cost
        </span>
        <span aria-live="polite" className="ml-auto tabular-nums">
          {active
            ? `${shortDate(active.date)}: ${formatNumber(active.prompt_tokens + active.completion_tokens)} tokens · ${formatUsd(active.cost_usd)} · ${formatNumber(active.requests)} requests`
            : "Hover a day for details"}
        </span>
      </figcaption>
    </figure>
  );
}
