/** Signing in and out, and a signed-out visitor being sent to sign-in and back. */
import { PASSWORD, expect, test } from "./fixtures";

test("a signed-out visitor signs in and lands where they were going; signing out ends the session", async ({ page, account }) => {
  await page.goto("/usage");
  await expect(page).toHaveURL(/\/sign-in\?next=%2Fusage$/);
  await expect(page.getByRole("heading", { name: "Sign in to Codesmith" })).toBeVisible();

  await page.getByLabel("Email").fill(account.email);
  await page.getByLabel("Password").fill("not the password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toContainText("That email and password do not match an account.");

  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/usage$/);
  await expect(page.getByRole("heading", { name: "Usage" })).toBeVisible();

  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/sign-in$/);
  await page.goto("/settings");
  await expect(page).toHaveURL(/\/sign-in\?next=%2Fsettings$/);
});

test("signing up with an email that is taken says so", async ({ page, account }) => {
  await page.goto("/sign-up");
  await page.getByLabel("Email").fill(account.email.toUpperCase());
  await page.getByLabel("Password").fill("another good password");
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByText("An account with this email already exists.")).toBeVisible();
  await expect(page).toHaveURL(/\/sign-up$/);
  await page.getByRole("link", { name: "Sign in instead" }).click();
  await expect(page).toHaveURL(/\/sign-in$/);
});
