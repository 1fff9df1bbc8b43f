/** Registering a model: the fake upstream as an OpenAI-compatible server, checked, then used to generate. */
import { OPENAI_KEY, answerWith, expect, expectFinished, lastAnswer, test } from "./fixtures";

test("a user registers an OpenAI-compatible server, checks it, and generates with it", async ({ app: page, api, fake }) => {
  await page.goto("/models");
  await expect(page.getByRole("heading", { name: "Models", exact: true })).toBeVisible();
  const provided = page.getByRole("region", { name: "Provided" });
  await expect(provided.getByRole("heading", { name: "gpt-4o-mini" })).toBeVisible();
  await expect(page.getByText("No models of your own yet")).toBeVisible();

  await page.getByRole("button", { name: "Register a model" }).first().click();
  const form = page.getByRole("dialog", { name: "Register a model" });
  await form.getByLabel("Display name").fill("Fake coder");
  await form.getByLabel("Provider").selectOption("openai_compatible");
  await form.getByLabel("Upstream model name").fill("fake-coder");
  await form.getByLabel("Base URL").fill(`${fake.url}/v1`);
  await form.getByLabel("API key").fill(OPENAI_KEY);
  await form.getByLabel("Context window").fill("16384");
  await form.getByRole("button", { name: "Register model" }).click();
  await expect(form).toBeHidden();

  const own = page.getByRole("region", { name: "Your models" });
  const row = own.getByRole("listitem").filter({ hasText: "Fake coder" });
  await expect(row).toContainText("Available"); // checked when saved
  await expect(row).toContainText("OpenAI-compatible");
  await expect(row).toContainText(`${fake.url}/v1`);
  await expect(row).toContainText("16,384 tokens");

  await row.getByRole("button", { name: "Check Fake coder" }).click();
  await expect(row.getByText(/^Available in \d+ ms/)).toBeVisible();
  await expect(row.getByText("Available", { exact: true })).toBeVisible();
  // The key the user typed is stored, never shown.
  await expect(page.getByText(OPENAI_KEY)).toHaveCount(0);

  // The new model is in the picker; generating with it reaches the fake as "fake-coder".
  await fake.set({ reply: answerWith("def ping():\n    return 'pong'") });
  await page.getByRole("link", { name: "New generation" }).first().click();
  await page.getByRole("button", { name: /^Model / }).click();
  await page.getByRole("option", { name: /Fake coder/ }).click();
  await expect(page.getByRole("button", { name: /^Model Fake coder/ })).toBeVisible();
  await page.getByLabel("Describe the code you need").fill("Write a Python function ping that returns pong");
  await page.getByRole("button", { name: "Generate", exact: true }).click();
  await expectFinished(lastAnswer(page));
  await expect(lastAnswer(page).locator("pre code")).toHaveText("def ping():\n    return 'pong'");
  await expect(lastAnswer(page)).toContainText("Fake coder");
  const requests = await fake.chatRequests();
  expect(requests.at(-1)?.model).toBe("fake-coder");

  const models = await api.get<{ items: { name: string; status: string; has_api_key: boolean }[] }>("/models");
  expect(models.items.find((model) => model.name === "Fake coder")).toMatchObject({ status: "ok", has_api_key: true });
});

test("a model whose server rejects the key checks as such", async ({ app: page, fake }) => {
  await page.goto("/models");
  await page.getByRole("button", { name: "Register a model" }).first().click();
  const form = page.getByRole("dialog", { name: "Register a model" });
  await form.getByLabel("Display name").fill("Keyless coder");
  await form.getByLabel("Provider").selectOption("openai_compatible");
  await form.getByLabel("Upstream model name").fill("fake-coder");
  await form.getByLabel("Base URL").fill(`${fake.url}/v1`);
  await form.getByRole("button", { name: "Register model" }).click();
  await expect(form).toBeHidden();

  const row = page.getByRole("region", { name: "Your models" }).getByRole("listitem").filter({ hasText: "Keyless coder" });
  await row.getByRole("button", { name: "Check Keyless coder" }).click();
  await expect(row.getByText(/^Key rejected in \d+ ms/)).toBeVisible();
  await expect(row.getByText("Key rejected", { exact: true })).toBeVisible();
});
