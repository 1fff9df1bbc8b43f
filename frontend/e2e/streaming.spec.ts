/** Streams the user interrupts: stop keeps the partial answer; a reload re-attaches and sees it finish. */
import { answerWith, expect, expectFinished, lastAnswer, test } from "./fixtures";

/** A numbered code block: the last lines show whether the whole answer arrived. */
function longCode(lines: number): string {
  return Array.from({ length: lines }, (_, i) => `print("line ${i + 1} of ${lines}")`).join("\n");
}

test("stopping mid-stream keeps the partial answer and says it was stopped", async ({ app: page, api, fake }) => {
  const reply = answerWith(longCode(40));
  await fake.set({ reply, token_delay: 0.1 });
  await page.goto("/new");
  await page.getByLabel("Describe the code you need").fill("Write a Python script that prints forty numbered lines");
  await page.getByRole("button", { name: "Generate", exact: true }).click();

  const answer = lastAnswer(page);
  await expect(answer).toContainText("line 3 of 40");
  await page.getByRole("button", { name: "Stop generating" }).click();

  await expect(answer.getByText("Stopped. The partial answer is kept above.")).toBeVisible();
  await expect(answer).toHaveAttribute("aria-busy", "false");
  await expect(page.getByRole("button", { name: "Stop generating" })).toHaveCount(0);
  await expect(answer).toContainText("line 3 of 40");
  await expect(answer).not.toContainText("line 40 of 40");

  // The server kept exactly the partial text, as `cancelled`, and it stays that way.
  const id = page.url().split("/c/")[1]!;
  const stored = (await api.conversation(id)).messages.find((message) => message.role === "assistant")!;
  expect(stored.status).toBe("cancelled");
  expect(stored.content.length).toBeGreaterThan(0);
  expect(reply.startsWith(stored.content)).toBe(true);
  expect(stored.content.length).toBeLessThan(reply.length);
  await page.reload();
  await expect(lastAnswer(page).getByText("Stopped. The partial answer is kept above.")).toBeVisible();
  await expect(lastAnswer(page)).toContainText("line 3 of 40");
  await expect(lastAnswer(page)).not.toContainText("line 40 of 40");

  // Regenerate gets a complete answer.
  await fake.set({ token_delay: 0 });
  await lastAnswer(page).getByRole("button", { name: "Regenerate" }).first().click();
  await expect(page.getByRole("group", { name: "answer versions" })).toContainText("2/2");
  await expectFinished(lastAnswer(page));
  await expect(lastAnswer(page)).toContainText("line 40 of 40");
});

test("a reload during a stream re-attaches to it and shows it finish", async ({ app: page, api, fake }) => {
  const code = longCode(30);
  await fake.set({ reply: answerWith(code), token_delay: 0.06 });
  await page.goto("/new");
  await page.getByLabel("Describe the code you need").fill("Write a Python script that prints thirty numbered lines");
  await page.getByRole("button", { name: "Generate", exact: true }).click();
  await expect(lastAnswer(page)).toContainText("line 2 of 30");

  await page.reload();
  // After the reload the answer is still being written: the page re-attached to the running generation.
  const answer = lastAnswer(page);
  await expect(answer).toHaveAttribute("aria-busy", "true");
  await expect(answer).toContainText("line 2 of 30");
  await expectFinished(answer);
  await expect(answer.locator("pre code.language-python")).toHaveText(code);
  await expect(answer.locator(".hljs-built_in, .hljs-string").first()).toBeVisible();

  const id = page.url().split("/c/")[1]!;
  const stored = (await api.conversation(id)).messages.find((message) => message.role === "assistant")!;
  expect(stored.status).toBe("complete");
  expect(stored.content).toBe(answerWith(code));
});
