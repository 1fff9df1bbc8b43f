/** Personal API tokens: created and shown once, copied, used by a script, revoked. */
import { clipboardText, expect, test } from "./fixtures";

test("an API token is shown once, copies, works for scripts, and stops working when revoked", async ({ app: page, account, playwright }) => {
  await page.goto("/settings");
  await expect(page.getByText("No tokens yet.")).toBeVisible();
  await page.getByLabel("Token name").fill("CI pipeline");
  await page.getByLabel("Expires").selectOption({ label: "30 days" });
  await page.getByRole("button", { name: "Create token" }).click();

  const shown = page.getByRole("status").filter({ hasText: "Copy your new token now. You will not see it again." });
  await expect(shown).toBeVisible();
  const field = shown.getByLabel("New token");
  await expect(field).toHaveValue(/^csk_\S{20,}$/);
  const token = await field.inputValue();
  await shown.getByRole("button", { name: "Copy" }).click();
  await expect(shown.getByRole("button", { name: "Copied" })).toBeVisible();
  expect(await clipboardText(page)).toBe(token);

  const tokens = page.getByRole("listitem").filter({ hasText: "CI pipeline" });
  await expect(tokens).toContainText("never used");
  await expect(tokens).toContainText("expires");

  // A script (no browser session) authenticates with it.
  const script = await playwright.request.newContext({ baseURL: new URL(page.url()).origin });
  const me = await script.get("/api/v1/users/me", { headers: { Authorization: `Bearer ${token}` } });
  expect(me.status()).toBe(200);
  expect(((await me.json()) as { email: string }).email).toBe(account.email);

  // The client set-up shows this server's /v1 base URL and a snippet carrying the new token and a model id
  // that works: an OpenAI client with them gets a chat completion.
  const origin = new URL(page.url()).origin;
  const setup = page.getByRole("region", { name: "Use Codesmith from your editor or scripts" });
  await expect(setup.getByLabel("Base URL", { exact: true })).toHaveValue(`${origin}/v1`);
  const snippet = setup.getByRole("tabpanel");
  await expect(snippet).toContainText(`api_key="${token}"`);
  await expect(snippet).toContainText(/model="[^"]+"/);
  const modelId = /model="([^"]+)"/.exec(await snippet.innerText())![1]!;
  await setup.getByRole("button", { name: "Copy snippet" }).click();
  expect(await clipboardText(page)).toContain(`OpenAI(base_url="${origin}/v1", api_key="${token}")`);
  for (const [tab, text] of [["curl", `curl ${origin}/v1/chat/completions`], ["Continue", `apiBase: ${origin}/v1`], ["Aider", `aider --model openai/${modelId}`]]) {
    await setup.getByRole("tab", { name: tab }).click();
    await expect(snippet).toContainText(text!);
  }
  const completion = await script.post("/v1/chat/completions", {
    headers: { Authorization: `Bearer ${token}` },
    data: { model: modelId, messages: [{ role: "user", content: "Write a Python function that reverses a string" }] },
  });
  expect(completion.status()).toBe(200);
  expect(((await completion.json()) as { object: string }).object).toBe("chat.completion");

  // Dismissed, it is gone for good: not on the page, not after a reload; the list shows it was used.
  await shown.getByRole("button", { name: "I have saved it" }).click();
  await expect(shown).toBeHidden();
  await page.reload();
  await expect(tokens).toContainText("last used");
  expect(await page.content()).not.toContain(token);

  await tokens.getByRole("button", { name: "Revoke CI pipeline" }).click();
  const dialog = page.getByRole("dialog", { name: "Revoke “CI pipeline”?" });
  await expect(dialog).toContainText("Anything using this token stops working at once.");
  await dialog.getByRole("button", { name: "Revoke token" }).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByText("No tokens yet.")).toBeVisible();

  const after = await script.get("/api/v1/users/me", { headers: { Authorization: `Bearer ${token}` } });
  expect(after.status()).toBe(401);
  const openai = await script.get("/v1/models", { headers: { Authorization: `Bearer ${token}` } });
  expect(openai.status()).toBe(401);
  expect(((await openai.json()) as { error: { code: string } }).error.code).toBe("invalid_api_key");
  await script.dispose();
});
