/** The home page: search as you type, download a snippet, delete a conversation. */
import { answerWith, expect, test, type Api, type FakeUpstream } from "./fixtures";

const GO_CODE = `package main

import (
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	filepath.WalkDir(os.Args[1], func(path string, entry os.DirEntry, err error) error {
		fmt.Println(path)
		return err
	})
}`;
const SQL_CODE = `SELECT country, date_trunc('month', created_at) AS month, sum(total) AS revenue
FROM orders JOIN customers ON customers.id = orders.customer_id
GROUP BY country, month
ORDER BY month;`;
const PY_CODE = `from datetime import date

def weekday_of(text: str) -> str:
    return date.fromisoformat(text).strftime("%A")`;

async function seed(api: Api, fake: FakeUpstream) {
  await fake.set({ reply: answerWith(PY_CODE, "python") });
  const python = await api.createConversation("Write a Python function that returns the weekday of an ISO date");
  await fake.set({ reply: answerWith(GO_CODE, "go") });
  const go = await api.createConversation("Write a Go program that walks a directory tree and prints every path", { language: "go" });
  await fake.set({ reply: answerWith(SQL_CODE, "sql") });
  const sql = await api.createConversation("Write a SQL query for monthly revenue per country", { language: "sql" });
  return { python, go, sql };
}

test("search filters conversations as the user types, by title and by code", async ({ app: page, api, fake }) => {
  await seed(api, fake);
  await page.goto("/");
  const list = page.getByRole("tabpanel");
  const titles = list.getByRole("link");
  await expect(titles).toHaveCount(3);

  const search = page.getByLabel("Search conversations");
  await search.pressSequentially("directory", { delay: 40 });
  await expect(titles).toHaveCount(1);
  await expect(titles).toHaveText("Write a Go program that walks a directory tree and prints every path");
  await expect(page).toHaveURL(/[?&]q=directory/);

  // Words of the generated code count too.
  await search.fill("");
  await expect(titles).toHaveCount(3);
  await search.pressSequentially("fromisoformat", { delay: 20 });
  await expect(titles).toHaveText(["Write a Python function that returns the weekday of an ISO date"]);

  await search.fill("kubernetes");
  await expect(page.getByText("Nothing matches “kubernetes”")).toBeVisible();
  await expect(titles).toHaveCount(0);

  // The search is in the URL: a reload keeps it.
  await search.fill("revenue");
  await expect(titles).toHaveText(["Write a SQL query for monthly revenue per country"]);
  await page.reload();
  await expect(page.getByLabel("Search conversations")).toHaveValue("revenue");
  await expect(titles).toHaveText(["Write a SQL query for monthly revenue per country"]);
});

test("a snippet downloads as a file named for its language, with its code", async ({ app: page, api, fake }) => {
  await seed(api, fake);
  await page.goto("/?tab=snippets");
  const cards = page.getByRole("tabpanel").getByRole("listitem");
  await expect(cards).toHaveCount(3);

  await page.getByLabel("Language").selectOption("go");
  await expect(cards).toHaveCount(1);
  const download = page.waitForEvent("download");
  await cards.getByRole("button", { name: /^Download as .+\.go$/ }).click();
  const file = await download;
  expect(file.suggestedFilename()).toMatch(/^[a-z0-9-]+\.go$/);
  const path = await file.path();
  const { readFile } = await import("node:fs/promises");
  expect(await readFile(path, "utf8")).toBe(GO_CODE);

  // From a conversation too: the answer's code block downloads with the language's extension.
  await page.getByLabel("Language").selectOption("sql");
  await cards.getByRole("link").click();
  await expect(page).toHaveURL(/\/c\//);
  const second = page.waitForEvent("download");
  await page.getByRole("article", { name: "Answer" }).getByRole("button", { name: /^Download as .+\.sql$/ }).click();
  const sqlFile = await second;
  expect(sqlFile.suggestedFilename()).toMatch(/\.sql$/);
  expect(await readFile(await sqlFile.path(), "utf8")).toBe(SQL_CODE);
});

test("deleting a conversation says how many messages go, then removes it", async ({ app: page, api, fake }) => {
  const { go, python } = await seed(api, fake);
  // Feedback makes the Go conversation four messages long.
  await fake.set({ reply: answerWith(GO_CODE.replace("fmt.Println(path)", "fmt.Println(entry.Name())"), "go") });
  await api.post(`/conversations/${go.id}/messages`, { content: "Print only the names", stream: false });

  await page.goto("/");
  const titles = page.getByRole("tabpanel").getByRole("link");
  await expect(titles).toHaveCount(3);
  await page.getByRole("button", { name: "Delete “Write a Go program that walks a directory tree and prints every path”" }).click();
  const dialog = page.getByRole("dialog", { name: "Delete this conversation?" });
  await expect(dialog).toContainText("this deletes 4 messages");
  await dialog.getByRole("button", { name: "Cancel" }).click();
  await expect(dialog).toBeHidden();
  await expect(titles).toHaveCount(3);

  await page.getByRole("button", { name: "Delete “Write a Go program that walks a directory tree and prints every path”" }).click();
  await expect(dialog).toContainText("this deletes 4 messages");
  await dialog.getByRole("button", { name: "Delete", exact: true }).click();
  await expect(dialog).toBeHidden();
  await expect(titles).toHaveCount(2);
  await expect(page.getByRole("tabpanel").getByText("Write a Go program that walks a directory tree")).toHaveCount(0);
  // The delete waits out its Undo toast, then reaches the server.
  await expect(page.getByRole("status")).toContainText("Deleted “Write a Go program");
  await expect(page.getByRole("button", { name: "Undo" })).toBeVisible();
  const status = async () =>
    (await page.request.get(`/api/v1/conversations/${go.id}`, { headers: { Authorization: `Bearer ${api.account.token}` } })).status();
  expect(await status()).toBe(200);
  await expect.poll(status, { timeout: 15_000 }).toBe(404);

  // From the conversation page: its own delete button, with the count of its two messages.
  await page.goto(`/c/${python.id}`);
  await page.getByRole("button", { name: "Delete conversation" }).click();
  await expect(dialog).toContainText("This deletes 2 messages");
  await dialog.getByRole("button", { name: "Delete", exact: true }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByRole("tabpanel").getByRole("link")).toHaveCount(1);
});
