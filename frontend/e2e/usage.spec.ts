/** The usage page after generations: its figures are the fake upstream's token counts, priced, as the API reports them. */
import { answerWith, expect, fakeCompletionTokens, fakePromptTokens, test } from "./fixtures";

interface Usage {
  totals: { requests: number; prompt_tokens: number; completion_tokens: number; cost_usd: number };
  by_model: { model_id: string | null; model_name?: string | null; requests: number; prompt_tokens: number; completion_tokens: number; cost_usd: number | null }[];
  limits: { requests_per_minute: number; tokens_per_day: number; tokens_used_today: number };
}

// What the page shows, formatted as the SPA formats it (en-US).
const number = (value: number) => new Intl.NumberFormat("en-US").format(value);
const usd = (value: number) =>
  value !== 0 && Math.abs(value) < 0.01
    ? new Intl.NumberFormat("en-US", { style: "currency", currency: "USD", maximumSignificantDigits: 2 }).format(value)
    : new Intl.NumberFormat("en-US", { style: "currency", currency: "USD", minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(value);

test("the usage page shows the tokens and cost of the user's generations", async ({ app: page, api, fake }) => {
  await page.goto("/usage");
  await expect(page.getByText("No usage in this period yet.")).toBeVisible();

  const replies = [answerWith("def one():\n    return 1"), answerWith("def two():\n    return 2\n\n\nprint(two())")];
  for (const [index, reply] of replies.entries()) {
    await fake.set({ reply });
    await api.createConversation(`Write a Python function number ${index + 1} that returns its number`);
  }

  // The fake's counts, priced at gpt-4o-mini's list price ($0.15 in, $0.60 out per million tokens).
  const sent = await fake.chatRequests();
  expect(sent).toHaveLength(2);
  const prompt = sent.reduce((sum, request) => sum + fakePromptTokens(request), 0);
  const completion = replies.reduce((sum, reply) => sum + fakeCompletionTokens(reply), 0);
  const usage = await api.get<Usage>("/usage?days=30");
  expect(usage.totals.requests).toBe(2);
  expect(usage.totals.prompt_tokens).toBe(prompt);
  expect(usage.totals.completion_tokens).toBe(completion);
  // The report counts in micro-dollars.
  expect(usage.totals.cost_usd).toBeCloseTo((prompt * 0.15 + completion * 0.6) / 1e6, 6);
  expect(usage.totals.cost_usd).toBeGreaterThan(0);

  await page.reload();
  const stat = (label: string) => page.locator("section", { has: page.getByText(label, { exact: true }) }).first();
  await expect(stat("Requests")).toContainText(number(usage.totals.requests));
  await expect(stat("Tokens")).toContainText(number(prompt + completion));
  await expect(stat("Tokens")).toContainText(`${number(prompt)} in · ${number(completion)} out`);
  await expect(stat("Cost")).toContainText(usd(usage.totals.cost_usd));
  await expect(page.getByRole("progressbar", { name: "Tokens used today" })).toHaveAttribute(
    "aria-valuenow",
    String(usage.limits.tokens_used_today),
  );
  await expect(page.getByRole("img", { name: /Tokens and cost per day over the last 30 days/ })).toContainText(
    `${number(prompt + completion)} tokens in total`,
  );

  const row = page.getByRole("row").filter({ hasText: "gpt-4o-mini" });
  await expect(row.getByRole("cell")).toHaveText([
    number(2),
    number(prompt),
    number(completion),
    usd(usage.by_model[0]!.cost_usd!),
  ]);
});
