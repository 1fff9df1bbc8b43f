/** Usage: totals, tokens and cost per day, per-model figures, today's limits, and the self-hosting comparison. */
import { lazy, Suspense, useMemo, useState } from "react";
import { errorMessage } from "../api/errors";
import { useModels, useUsage } from "../api/queries";
import type { Usage as UsageData } from "../api/types";
import { Alert, Card, PageHeader, Skeleton } from "../components/ui";
import { formatNumber, formatUsd } from "../lib/format";
import { fillDays } from "../lib/usage";

const UsageChart = lazy(() => import("../components/UsageChart"));
const RANGES = [7, 30, 90];

export default function Usage() {
  const [days, setDays] = useState(30);
  const usage = useUsage(days);
  return (
    <div className="mx-auto w-full max-w-5xl px-4 py-6 sm:px-6 sm:py-8">
      <PageHeader
        title="Usage"
        description="What your generations used and cost."
        actions={
          <div role="group" aria-label="Period" className="inline-flex rounded-lg bg-zinc-100 p-1 dark:bg-zinc-900">
            {RANGES.map((range) => (
              <button
                key={range}
                type="button"
                aria-pressed={days === range}
                onClick={() => setDays(range)}
                className={`rounded-md px-3 py-1.5 text-sm font-medium ${days === range ? "bg-white shadow-sm dark:bg-zinc-800" : "text-zinc-600 dark:text-zinc-400"}`}
              >
                {range} days
              </button>
            ))}
          </div>
        }
      />
      {usage.isPending ? (
        <UsageSkeleton />
      ) : usage.isError ? (
        <Alert title="Could not load usage">{errorMessage(usage.error)}</Alert>
      ) : (
        <UsageView usage={usage.data} days={days} />
      )}
    </div>
  );
}

function UsageSkeleton() {
  return (
    <div className="space-y-6" aria-label="Loading usage" role="status">
      <div className="grid grid-cols-2 gap-4 lg:grid-cols-4">
        {[0, 1, 2, 3].map((i) => (
          <Skeleton key={i} className="h-24 rounded-2xl" />
        ))}
      </div>
      <Skeleton className="h-72 rounded-2xl" />
    </div>
  );
}

function Stat({ label, value, sub }: { label: string; value: string; sub?: string }) {
  return (
    <Card className="p-4">
      <p className="text-xs font-medium uppercase tracking-wide text-zinc-500">{label}</p>
      <p className="mt-1 text-2xl font-semibold tabular-nums">{value}</p>
      {sub ? <p className="mt-0.5 text-xs text-zinc-500">{sub}</p> : null}
    </Card>
  );
}

function UsageView({ usage, days }: { usage: UsageData; days: number }) {
  const models = useModels();
  const rows = useMemo(() => fillDays(usage.by_day, days), [usage.by_day, days]);
  const { totals, limits, self_hosting: selfHosting } = usage;
  const totalTokens = totals.prompt_tokens + totals.completion_tokens;
  const usedShare = limits.tokens_per_day > 0 ? Math.min(1, limits.tokens_used_today / limits.tokens_per_day) : 0;
  const left = limits.tokens_left_today ?? Math.max(0, limits.tokens_per_day - limits.tokens_used_today);
  const apiCost = selfHosting.api_cost_usd ?? totals.cost_usd;
  const modelName = (id: string | null, fallback?: string | null) =>
    fallback || models.data?.find((model) => model.id === id)?.name || (id ? "Removed model" : "Unknown");

  return (
    <div className="space-y-6">
      <div className="grid grid-cols-2 gap-4 lg:grid-cols-4">
        <Stat label="Requests" value={formatNumber(totals.requests)} sub={`last ${days} days`} />
        <Stat label="Tokens" value={formatNumber(totalTokens)} sub={`${formatNumber(totals.prompt_tokens)} in · ${formatNumber(totals.completion_tokens)} out`} />
        <Stat
          label="Cost"
          value={formatUsd(totals.cost_usd)}
          sub={totals.unpriced_requests ? `${formatNumber(totals.unpriced_requests)} requests on unpriced models` : "at each model's price"}
        />
        <Stat label="Left today" value={limits.tokens_per_day > 0 ? formatNumber(left) : "Unlimited"} sub={limits.requests_per_minute > 0 ? `${formatNumber(limits.requests_per_minute)} requests / minute max` : "no per-minute limit"} />
      </div>

      <Card>
        <h2 className="mb-4 text-base font-semibold">Per day</h2>
        {totalTokens === 0 ? (
          <p className="py-10 text-center text-sm text-zinc-500">No usage in this period yet.</p>
        ) : (
          <Suspense fallback={<Skeleton className="aspect-[3/1] w-full" />}>
            <UsageChart rows={rows} />
          </Suspense>
        )}
      </Card>

      <div className="grid gap-6 lg:grid-cols-2">
        <Card>
          <h2 className="mb-3 text-base font-semibold">Daily limit</h2>
          {limits.tokens_per_day > 0 ? (
            <>
              <div
                className="h-3 overflow-hidden rounded-full bg-zinc-200 dark:bg-zinc-800"
                role="progressbar"
                aria-label="Tokens used today"
                aria-valuemin={0}
                aria-valuemax={limits.tokens_per_day}
                aria-valuenow={limits.tokens_used_today}
              >
                <div className={`h-full rounded-full ${usedShare > 0.9 ? "bg-red-500" : usedShare > 0.7 ? "bg-amber-500" : "bg-indigo-500"}`} style={{ width: `${usedShare * 100}%` }} />
              </div>
              <p className="mt-2 text-sm text-zinc-600 dark:text-zinc-400">
                {formatNumber(limits.tokens_used_today)} of {formatNumber(limits.tokens_per_day)} tokens used today; {formatNumber(left)} left.
                {limits.requests_per_minute > 0 ? ` Up to ${formatNumber(limits.requests_per_minute)} generations a minute.` : ""}
              </p>
            </>
          ) : (
            <p className="text-sm text-zinc-600 dark:text-zinc-400">No daily token limit on this server.</p>
          )}
        </Card>
        <Card>
          <h2 className="mb-3 text-base font-semibold">Self-hosting comparison</h2>
          <p className="text-sm text-zinc-600 dark:text-zinc-400">
            Your API spend of <strong className="text-zinc-900 dark:text-zinc-100">{formatUsd(apiCost)}</strong> over {days} days would have rented a GPU
            for about <strong className="text-zinc-900 dark:text-zinc-100">{formatNumber(Math.round(selfHosting.equivalent_gpu_hours * 10) / 10)} hours</strong> at{" "}
            {formatUsd(selfHosting.gpu_hourly_usd)}/hour.
          </p>
          <p className="mt-2 text-xs text-zinc-500">
            {selfHosting.equivalent_gpu_hours >= days * 24
              ? "That is more than a GPU running day and night: self-hosting a model with vLLM would likely cost less."
              : `A GPU kept on for the whole period would need ${formatNumber(days * 24)} hours, so paying per token is cheaper at this volume.`}
          </p>
        </Card>
      </div>

      <Card className="overflow-hidden p-0">
        <h2 className="px-5 pt-5 text-base font-semibold">Per model</h2>
        {usage.by_model.length === 0 ? (
          <p className="px-5 pb-5 pt-2 text-sm text-zinc-500">No model used in this period.</p>
        ) : (
          <div className="mt-3 overflow-x-auto">
            <table className="min-w-full text-sm">
              <thead className="bg-zinc-50 text-left text-xs uppercase tracking-wide text-zinc-500 dark:bg-zinc-900">
                <tr>
                  <th scope="col" className="px-5 py-2 font-medium">Model</th>
                  <th scope="col" className="px-5 py-2 text-right font-medium">Requests</th>
                  <th scope="col" className="px-5 py-2 text-right font-medium">Prompt</th>
                  <th scope="col" className="px-5 py-2 text-right font-medium">Completion</th>
                  <th scope="col" className="px-5 py-2 text-right font-medium">Cost</th>
                </tr>
              </thead>
              <tbody className="divide-y divide-zinc-200 dark:divide-zinc-800">
                {usage.by_model.map((row, index) => (
                  <tr key={row.model_id ?? `row-${index}`}>
                    <th scope="row" className="px-5 py-2.5 text-left font-medium">{modelName(row.model_id, row.model_name)}</th>
                    <td className="px-5 py-2.5 text-right tabular-nums">{formatNumber(row.requests)}</td>
                    <td className="px-5 py-2.5 text-right tabular-nums">{formatNumber(row.prompt_tokens)}</td>
                    <td className="px-5 py-2.5 text-right tabular-nums">{formatNumber(row.completion_tokens)}</td>
                    <td className="px-5 py-2.5 text-right tabular-nums">{row.cost_usd === null ? <span title="This model has no price">—</span> : formatUsd(row.cost_usd)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Card>
    </div>
  );
}
