/** A day of real use: the session survives reloads (refresh cookie), drafts survive too, and a first-time
 * user without a usable model is shown the first steps. */
import { expect, registerAccount, signInPage, test } from "./fixtures";

test("a reload keeps the user signed in, with no token in storage", async ({ app }) => {
  await app.goto("/new");
  await expect(app.getByLabel("Describe the code you need")).toBeVisible();
  await app.reload();
  await expect(app.getByLabel("Describe the code you need")).toBeVisible();
  expect(new URL(app.url()).pathname).toBe("/new");
  const stored = await app.evaluate(() => JSON.stringify({ ...localStorage, ...sessionStorage }));
  expect(stored).not.toContain("eyJ"); // no JWT kept where scripts could read it
  const cookies = await app.context().cookies();
  const refresh = cookies.find((cookie) => cookie.name === "codesmith_refresh");
  expect(refresh?.httpOnly).toBe(true);
  expect(refresh?.sameSite).toBe("Strict");
});

test("an unsent prompt survives a reload and is gone once sent", async ({ app }) => {
  await app.goto("/new");
  const box = app.getByLabel("Describe the code you need");
  await box.fill("Write a Python function that reverses the words of a sentence");
  await app.reload();
  await expect(box).toHaveValue("Write a Python function that reverses the words of a sentence");
  await app.getByRole("button", { name: "Generate" }).click();
  await expect(app).toHaveURL(/\/c\//);
  await app.goto("/new");
  await expect(app.getByLabel("Describe the code you need")).toHaveValue("");
});

test("signing out ends the session: a reload stays signed out", async ({ app }) => {
  await app.goto("/new");
  await expect(app.getByLabel("Describe the code you need")).toBeVisible();
  await app.getByRole("button", { name: "Sign out" }).click();
  await expect(app).toHaveURL(/\/sign-in/);
  await app.reload();
  await expect(app.getByRole("heading", { name: "Sign in to Codesmith" })).toBeVisible();
});

test("a fresh user with no usable model sees the first steps instead of the composer", async ({ page, request }) => {
  const account = await registerAccount(request, { openaiKey: null });
  await signInPage(page, account);
  await page.goto("/new");
  await expect(page.getByText("First steps: give Codesmith a model")).toBeVisible();
  await expect(page.getByRole("link", { name: "Add your OpenAI key" })).toBeVisible();
  await expect(page.getByRole("link", { name: "Register a model server" })).toBeVisible();
  await expect(page.getByLabel("Describe the code you need")).toHaveCount(0);
});
