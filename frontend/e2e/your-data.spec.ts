/** Your data: export everything, import it into another account, export one conversation, delete the account. */
import { readFile } from "node:fs/promises";
import type { Page } from "@playwright/test";
import { answerWith, expect, pageOf, PASSWORD, registerAccount, test } from "./fixtures";

const CODE = "def weekday(iso: str) -> str:\n    from datetime import date\n    return date.fromisoformat(iso).strftime('%A')";
const PROMPT = "Write a Python function that returns the weekday of an ISO date";

interface ExportDocument {
  format: string;
  version: number;
  user: { email: string };
  conversations: { title: string; messages: { role: string; content: string; snippets: { code: string }[] }[] }[];
}

async function downloadExport(page: Page): Promise<{ name: string; path: string; document: ExportDocument }> {
  await page.goto("/settings");
  const download = page.waitForEvent("download");
  await page.getByRole("button", { name: "Download export" }).click();
  const file = await download;
  const path = await file.path();
  return { name: file.suggestedFilename(), path, document: JSON.parse(await readFile(path, "utf8")) as ExportDocument };
}

test("the export downloads the user's conversations; importing it into another account brings them there, once", async ({ app: page, api, fake, browser, request }) => {
  await fake.set({ reply: answerWith(CODE) });
  const conversation = await api.createConversation(PROMPT);

  const { name, path, document } = await downloadExport(page);
  expect(name).toMatch(/^codesmith-export-\d{4}-\d{2}-\d{2}\.json$/);
  await expect(page.getByText(`Saved as ${name}.`)).toBeVisible();
  expect(document.format).toBe("codesmith-export");
  expect(document.user.email).toBe(api.account.email);
  expect(document.conversations.map((item) => item.title)).toEqual([conversation.title]);
  const messages = document.conversations[0]!.messages;
  expect(messages.find((message) => message.role === "user")!.content).toBe(PROMPT);
  expect(messages.flatMap((message) => message.snippets.map((snippet) => snippet.code))).toEqual([CODE]);
  expect(JSON.stringify(document)).not.toContain("sk-e2e");

  // A second person imports the file and finds the conversation in their library, searchable.
  const other = await pageOf(browser, await registerAccount(request));
  await other.goto("/settings");
  await other.getByLabel("File to import").setInputFiles(path);
  await other.getByRole("button", { name: "Import", exact: true }).click();
  await expect(other.getByRole("status").filter({ hasText: "Imported 1 conversation." })).toBeVisible();
  await other.goto("/?q=weekday");
  const library = other.getByRole("main");
  await expect(library.getByRole("link", { name: new RegExp(conversation.title) })).toBeVisible();
  await library.getByRole("link", { name: new RegExp(conversation.title) }).first().click();
  await expect(other.getByRole("article", { name: "Answer" }).last()).toContainText("weekday");

  // The same file again adds nothing.
  await other.goto("/settings");
  await other.getByLabel("File to import").setInputFiles(path);
  await other.getByRole("button", { name: "Import", exact: true }).click();
  await expect(other.getByRole("status").filter({ hasText: "Imported 0 conversations; skipped 1 conversation imported before." })).toBeVisible();
  await other.context().close();
});

test("a file that is not an export is refused with where it is wrong, and nothing is imported", async ({ app: page }) => {
  await page.goto("/settings");
  await page.getByLabel("File to import").setInputFiles({
    name: "notes.json",
    mimeType: "application/json",
    buffer: Buffer.from(JSON.stringify({ format: "something-else", conversations: [] })),
  });
  await page.getByRole("button", { name: "Import", exact: true }).click();
  await expect(page.getByRole("alert")).toContainText("Nothing was imported");
  await page.goto("/");
  await expect(page.getByText("No conversations yet")).toBeVisible();
});

test("a conversation exports as Markdown and as JSON from its page", async ({ app: page, api, fake }) => {
  await fake.set({ reply: answerWith(CODE) });
  const conversation = await api.createConversation(PROMPT);
  await page.goto(`/c/${conversation.id}`);

  await page.getByRole("button", { name: "Export conversation" }).click();
  const markdown = page.waitForEvent("download");
  await page.getByRole("menuitem", { name: /Markdown/ }).click();
  const md = await markdown;
  expect(md.suggestedFilename()).toMatch(/\.md$/);
  const text = await readFile(await md.path(), "utf8");
  expect(text).toContain(`# ${conversation.title}`);
  expect(text).toContain(CODE);

  await page.getByRole("button", { name: "Export conversation" }).click();
  const json = page.waitForEvent("download");
  await page.getByRole("menuitem", { name: /JSON/ }).click();
  const file = await json;
  expect(file.suggestedFilename()).toMatch(/\.json$/);
  const document = JSON.parse(await readFile(await file.path(), "utf8")) as ExportDocument;
  expect(document.format).toBe("codesmith-export");
  expect(document.conversations.map((item) => item.title)).toEqual([conversation.title]);
});

test("retention is saved and still set after a reload", async ({ app: page }) => {
  await page.goto("/settings");
  const card = page.locator("section").filter({ has: page.getByRole("heading", { name: "Keep conversations for" }) }).last();
  await card.getByLabel("Delete after a number of days").check();
  await card.getByLabel("Days without changes").fill("30");
  await card.getByRole("button", { name: "Save retention" }).click();
  await expect(card.getByText("Saved.")).toBeVisible();
  await page.reload();
  await expect(page.getByLabel("Days without changes")).toHaveValue("30");
});

test("deleting the account needs the password, signs out, and the email can register again", async ({ app: page, account, api, fake }) => {
  await fake.set({ reply: answerWith(CODE) });
  await api.createConversation(PROMPT);
  await page.goto("/settings");
  await page.getByRole("button", { name: "Delete account…" }).click();
  const dialog = page.getByRole("dialog", { name: "Delete your account?" });
  await dialog.getByLabel("Your password").fill("not the password at all");
  await dialog.getByRole("button", { name: "Delete my account" }).click();
  await expect(dialog.getByText("That is not your password.")).toBeVisible();

  await dialog.getByLabel("Your password").fill(account.password);
  await dialog.getByRole("button", { name: "Delete my account" }).click();
  await expect(page).toHaveURL(/\/sign-in$/);
  await expect(page.getByText("Your account was deleted")).toBeVisible();
  // Nothing of the old session works: its token is refused, and signing in fails.
  const me = await page.request.get("/api/v1/users/me", { headers: { Authorization: `Bearer ${account.token}` } });
  expect(me.status()).toBe(401);

  await page.getByRole("link", { name: "Create an account" }).click();
  // The sign-in page has an Email field too: fill only once the sign-up form has replaced it.
  await expect(page.getByRole("heading", { name: "Create your account" })).toBeVisible();
  await page.getByLabel("Email").fill(account.email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/new$/);
  await page.goto("/");
  await expect(page.getByText("No conversations yet")).toBeVisible();
});
