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
  await script.dispose();
});
