/** What a user sees when a request is refused: by the local guard, by the model, or by the provider (bad key). */
import { OPENAI_KEY, answerWith, expect, expectFinished, lastAnswer, registerAccount, signInPage, test } from "./fixtures";

test("the local guard refuses a plain non-code request before any model is called", async ({ app: page, api, fake }) => {
  await page.goto("/new");
  await page.getByLabel("Describe the code you need").fill("write a poem about the sea");
  await page.getByRole("button", { name: "Generate", exact: true }).click();

  const refusal = page.getByRole("status").filter({ hasText: "That does not look like a programming task" });
  await expect(refusal).toBeVisible();
  await expect(refusal).toContainText("Codesmith only writes code");
  // Nothing was created or sent: the user stays on the page with the prompt to rewrite it.
  await expect(page).toHaveURL(/\/new$/);
  await expect(page.getByLabel("Describe the code you need")).toHaveValue("write a poem about the sea");
  expect((await api.get<{ items: unknown[] }>("/conversations")).items).toHaveLength(0);
  expect(await fake.chatRequests()).toHaveLength(0);
});

test("a request the model declines as not code shows the refusal, not the model's text", async ({ app: page, api, fake }) => {
  // The local guard lets this through; the fake answers "NOT_CODE: …" followed by a poem.
  await page.goto("/new");
  await page.getByLabel("Describe the code you need").fill("Write a function [[reply:not_code]]");
  await page.getByRole("button", { name: "Generate", exact: true }).click();

  await expect(page).toHaveURL(/\/c\//);
  const answer = lastAnswer(page);
  const refusal = answer.getByRole("status").filter({ hasText: "That does not look like a programming task" });
  await expect(refusal).toBeVisible();
  await expect(refusal).toContainText("the model declined this request");
  await expect(page.getByText("Roses are red")).toHaveCount(0);
  await expect(page.getByText(/NOT_CODE:/)).toHaveCount(0);
  expect(await fake.chatRequests()).toHaveLength(1);

  const id = page.url().split("/c/")[1]!;
  const stored = (await api.conversation(id)).messages.find((message) => message.role === "assistant")!;
  expect(stored.status).toBe("rejected");
  expect(stored.error?.code).toBe("not_a_code_request");
});

test("an answer without code is flagged, with a way to try again", async ({ app: page, fake }) => {
  await page.goto("/new");
  await page.getByLabel("Describe the code you need").fill("Write a Python function that sums a list [[reply:prose]]");
  await page.getByRole("button", { name: "Generate", exact: true }).click();

  const answer = lastAnswer(page);
  await expect(answer.getByRole("status").filter({ hasText: "The answer had no code in it" })).toBeVisible();
  // Regenerating (the fake now ignores the prompt's directive and answers with code) gives a proper answer.
  await fake.set({ reply: answerWith("def total(values):\n    return sum(values)"), directives: false });
  await answer.getByRole("status").getByRole("button", { name: "Regenerate" }).click();
  await expect(page.getByRole("group", { name: "answer versions" })).toContainText("2/2");
  await expectFinished(lastAnswer(page));
  await expect(lastAnswer(page).locator("pre code")).toHaveText("def total(values):\n    return sum(values)");
});

test("a wrong OpenAI key shows what failed and where to fix it; after fixing it, regenerate works", async ({ page, request }) => {
  const wrongKey = "sk-wrongkey-5555aaaa9999";
  const account = await registerAccount(request, { openaiKey: wrongKey });
  await signInPage(page, account);
  await page.goto("/new");
  await page.getByLabel("Describe the code you need").fill("Write a Python function that adds two numbers");
  await page.getByRole("button", { name: "Generate", exact: true }).click();

  const answer = lastAnswer(page);
  const problem = answer.getByRole("alert");
  await expect(problem).toContainText("OpenAI rejected your API key");
  await expect(problem).toContainText("Replace your OpenAI key in Settings, then regenerate.");
  // The provider's message echoes part of the key: the page must not.
  await expect(page.getByText("sk-wro")).toHaveCount(0);
  await expect(page.getByText("5555aaaa9999")).toHaveCount(0);

  // What to do next: the link leads to Settings, where the key is replaced.
  const conversationUrl = page.url();
  await problem.getByRole("link", { name: "Replace your key" }).click();
  await expect(page).toHaveURL(/\/settings$/);
  await expect(page.getByText("sk-…9999")).toBeVisible();
  await page.getByRole("button", { name: "Replace", exact: true }).click();
  await page.getByLabel("New key").fill(OPENAI_KEY);
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await expect(page.getByText("sk-…WXYZ")).toBeVisible();

  await page.goto(conversationUrl);
  await lastAnswer(page).getByRole("button", { name: "Regenerate" }).click();
  await expect(page.getByRole("group", { name: "answer versions" })).toContainText("2/2");
  await expectFinished(lastAnswer(page));
  await expect(lastAnswer(page).locator("pre code.language-python")).toBeVisible();
  await expect(lastAnswer(page).getByRole("alert")).toHaveCount(0);
});
