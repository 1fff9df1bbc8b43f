/** The admin console: disabling a user, registration by invitation, the audit log; and who may see it. */
import { adminAccount, expect, pageOf, PASSWORD, test, uniqueEmail, type Api } from "./fixtures";

// Registration is instance-wide: a spec that changes it puts it back, so later specs can register accounts.
async function reopenRegistration(admin: Api) {
  await admin.put("/admin/registration", { mode: "open" });
}

test("a user who is not an administrator sees that /admin needs one, and no link to it", async ({ app: page }) => {
  await page.goto("/admin");
  await expect(page.getByRole("heading", { name: "This page needs an administrator" })).toBeVisible();
  await expect(page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Admin" })).toHaveCount(0);
});

test("an administrator disables a user: their next action signs them out, and sign-in says the account is disabled", async ({ app: userPage, account, browser, request }) => {
  await userPage.goto("/");
  await expect(userPage.getByRole("heading", { name: "Your work" })).toBeVisible();

  const adminPage = await pageOf(browser, await adminAccount(request));
  await adminPage.goto("/");
  await adminPage.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Admin" }).click();
  await expect(adminPage).toHaveURL(/\/admin$/);
  await adminPage.getByRole("searchbox", { name: "Search users" }).fill(account.email);
  const row = adminPage.getByRole("row", { name: account.email });
  await expect(row).toBeVisible();
  await expect(adminPage.getByRole("row")).toHaveCount(2); // the header and this user: the search filtered
  await row.getByRole("button", { name: `Disable: ${account.email}` }).click();
  const dialog = adminPage.getByRole("dialog", { name: `Disable ${account.email}?` });
  await dialog.getByRole("button", { name: "Disable" }).click();
  await expect(row.getByText("Disabled")).toBeVisible();

  // The user's next action (opening another page) fails (403 account_disabled): they land on sign-in, told why.
  await userPage.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Models" }).click();
  await expect(userPage).toHaveURL(/\/sign-in/);
  await expect(userPage.getByText("Your account was disabled")).toBeVisible();
  await userPage.getByLabel("Email").fill(account.email);
  await userPage.getByLabel("Password").fill(account.password);
  await userPage.getByRole("button", { name: "Sign in" }).click();
  await expect(userPage.getByText(/This account is disabled/)).toBeVisible();
  const token = await request.post("/api/v1/auth/token", { form: { username: account.email, password: account.password } });
  expect(token.status()).toBe(403);

  // Enabled again, they can sign in.
  await row.getByRole("button", { name: `Enable: ${account.email}` }).click();
  await adminPage.getByRole("dialog", { name: `Enable ${account.email}?` }).getByRole("button", { name: "Enable" }).click();
  await expect(row.getByText("Disabled")).toHaveCount(0);
  await userPage.getByRole("button", { name: "Sign in" }).click();
  await expect(userPage).not.toHaveURL(/\/sign-in/);

  // The audit log lists both changes, by the administrator.
  await adminPage.getByRole("link", { name: "Audit log" }).click();
  const log = adminPage.getByRole("list", { name: "Audit log" });
  await adminPage.getByLabel("Action").selectOption("user.update");
  await expect(log.getByRole("listitem").filter({ hasText: "disabled: true" }).first()).toContainText(process.env.E2E_ADMIN_EMAIL!);
  await expect(log.getByRole("listitem").filter({ hasText: "disabled: false" }).first()).toBeVisible();
  await adminPage.context().close();
});

test("registration by invitation: refused without one, an invitation link works once; the audit log records it", async ({ admin, browser }) => {
  const adminPage = await pageOf(browser, admin.account);
  try {
    await adminPage.goto("/admin/registration");
    // click, then wait for the state: the radio follows the server's answer (check() asserts at once, and a
    // re-render while the change is in flight failed it on a slow CI machine).
    const byInvitation = adminPage.getByRole("radio", { name: /By invitation/ });
    await byInvitation.click();
    await expect(adminPage.getByText("Saved.")).toBeVisible();
    await expect(byInvitation).toBeChecked();

    // Without an invitation: the sign-up page says one is needed, and the API refuses.
    const visitor = await pageOf(browser);
    await visitor.goto("/sign-up");
    await expect(visitor.getByText("You need an invitation")).toBeVisible();
    await expect(visitor.getByRole("button", { name: "Create account" })).toHaveCount(0);
    const refused = await visitor.request.post("/api/v1/auth/register", { data: { email: uniqueEmail(), password: PASSWORD } });
    expect(refused.status()).toBe(403);
    expect(((await refused.json()) as { code: string }).code).toBe("invitation_invalid");

    // An invitation for one address: its link is shown once and registers that person.
    const email = uniqueEmail();
    await adminPage.getByLabel("For email (optional)").fill(email);
    await adminPage.getByLabel("Expires after").selectOption("7");
    await adminPage.getByRole("button", { name: "Create invitation" }).click();
    const link = await adminPage.getByLabel("Invitation link", { exact: true }).inputValue();
    expect(link).toMatch(/\/sign-up\?invitation=csi_\S+$/);
    const invitations = adminPage.getByRole("list", { name: "Invitations" });
    await expect(invitations.getByRole("listitem").filter({ hasText: email })).toContainText("Active");

    await visitor.goto(link);
    await expect(visitor.getByText(/You were invited/)).toBeVisible();
    await visitor.getByLabel("Email").fill(email);
    await visitor.getByLabel("Password").fill(PASSWORD);
    await visitor.getByRole("button", { name: "Create account" }).click();
    await expect(visitor).toHaveURL(/\/new$/);

    // Used: the same link registers nobody else.
    const again = await visitor.request.post("/api/v1/auth/register", {
      data: { email: uniqueEmail(), password: PASSWORD, invitation: new URL(link).searchParams.get("invitation") },
    });
    expect(again.status()).toBe(403);
    await adminPage.reload();
    await expect(adminPage.getByRole("list", { name: "Invitations" }).getByRole("listitem").filter({ hasText: email })).toContainText("Used");

    // The audit log lists the mode change and the invitation.
    await adminPage.getByRole("link", { name: "Audit log" }).click();
    const log = adminPage.getByRole("list", { name: "Audit log" });
    await expect(log.getByText("Registration mode changed").first()).toBeVisible();
    await expect(log.getByText("Invitation created").first()).toBeVisible();
    await visitor.context().close();
  } finally {
    await reopenRegistration(admin);
    await adminPage.context().close();
  }
});

test("closed registration: the sign-up page says so", async ({ admin, browser }) => {
  try {
    await admin.put("/admin/registration", { mode: "closed" });
    const visitor = await pageOf(browser);
    await visitor.goto("/sign-up");
    await expect(visitor.getByText("Registration is closed")).toBeVisible();
    await visitor.context().close();
  } finally {
    await reopenRegistration(admin);
  }
});

test("an administrator sets a user's own limits in the console: the user's budget follows, and the audit log records it", async ({ api, account, admin, browser }) => {
  const before = await api.get<{ limits: { tokens_per_day: number; requests_per_minute: number } }>("/usage");
  const adminPage = await pageOf(browser, admin.account);
  await adminPage.goto("/admin");
  await adminPage.getByRole("searchbox", { name: "Search users" }).fill(account.email);
  const row = adminPage.getByRole("row", { name: account.email });
  await row.getByRole("button", { name: `Limits: ${account.email}` }).click();
  const dialog = adminPage.getByRole("dialog", { name: `Limits of ${account.email}` });
  await expect(dialog.getByText(/Server default/).first()).toBeVisible();
  await dialog.getByLabel("Tokens per day").fill("5,000");
  await dialog.getByRole("button", { name: "Save limits" }).click();
  await expect(dialog).toBeHidden();

  const after = await api.get<{ limits: { tokens_per_day: number; requests_per_minute: number } }>("/usage");
  expect(after.limits.tokens_per_day).toBe(5000);
  expect(after.limits.requests_per_minute).toBe(before.limits.requests_per_minute); // empty: the server default

  await adminPage.getByRole("link", { name: "Audit log" }).click();
  await adminPage.getByLabel("Action").selectOption("user.limits");
  await expect(adminPage.getByRole("list", { name: "Audit log" }).getByRole("listitem").first()).toContainText("5000");
  await adminPage.context().close();
});
