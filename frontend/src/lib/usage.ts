/** Usage data helpers shared by the page and its lazily loaded chart. */
import type { UsageByDay } from "../api/types";

/** Every day in the range, with zeros where nothing happened, so gaps read as gaps. */
export function fillDays(rows: UsageByDay[], days: number, today = new Date()): UsageByDay[] {
  const byDate = new Map(rows.map((row) => [row.date.slice(0, 10), row]));
  const filled: UsageByDay[] = [];
  for (let offset = days - 1; offset >= 0; offset--) {
    const date = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() - offset)).toISOString().slice(0, 10);
    filled.push(byDate.get(date) ?? { date, requests: 0, prompt_tokens: 0, completion_tokens: 0, cost_usd: 0 });
  }
  return filled;
}
