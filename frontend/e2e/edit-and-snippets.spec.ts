/** Editing a sent prompt (a new version with its own answer), and deleting a snippet. */
import { answerWith, expect, expectFinished, lastAnswer, test } from "./fixtures";

const FIRST = `def add_numbers(a: int, b: int) -> int:
    return a + b`;
const EDITED = `def add_numbers(*numbers: float) -> float:
    return sum(numbers)`;

test("editing a prompt makes a second version with a new answer", async ({ app: page, api, fake }) => {
  await fake.set({ reply: answerWith(FIRST) });
  const conversation = await api.createConversation("Write a Python function that adds two numbers");
  await page.goto(`/c/${conversation.id}`);
  await expect(lastAnswer(page).locator("pre code")).toHaveText(FIRST);

  await fake.set({ reply: answerWith(EDITED) });
  const request = page.getByRole("article", { name: "Your request" });
  await request.getByRole("button", { name: "Edit request" }).click();
  const box = page.getByLabel("Edit your request");
  await expect(box).toHaveValue("Write a Python function that adds two numbers");
  await box.fill("Write a Python function that adds any count of numbers");
  await request.getByRole("button", { name: "Send edit" }).click();

  await expectFinished(lastAnswer(page));
  await expect(lastAnswer(page).locator("pre code")).toHaveText(EDITED);
  await expect(request).toContainText("Write a Python function that adds any count of numbers");
  const versions = page.getByRole("group", { name: "prompt versions" });
  await expect(versions).toContainText("2/2");

  // The model saw the edited request alone, not the first version or its answer.
  const sent = (await fake.chatRequests()).at(-1)!;
  expect(sent.messages.filter((m) => m.role !== "system").map((m) => m.content)).toEqual([
    "Write a Python function that adds any count of numbers",
  ]);

  // The first version and its answer are still there.
  await versions.getByRole("button", { name: "Previous prompt" }).click();
  await expect(versions).toContainText("1/2");
  await expect(request).toContainText("Write a Python function that adds two numbers");
  await expect(lastAnswer(page).locator("pre code")).toHaveText(FIRST);

  // And the server kept both as siblings.
  const stored = await api.conversation(conversation.id);
  const requests = stored.messages.filter((m) => m.role === "user");
  expect(requests.map((m) => m.parent_id)).toEqual([null, null]);
  expect(requests.map((m) => m.kind)).toEqual(["request", "request"]);
});

test("a snippet is deleted from the list after confirming, and downloads under the API's file name", async ({
  app: page,
  api,
  fake,
}) => {
  await fake.set({ reply: answerWith(FIRST) });
  await api.createConversation("Write a Python function that adds two numbers");
  await fake.set({ reply: answerWith("print('hello')") });
  await api.createConversation("Write a Python script that prints hello");

  await page.goto("/?tab=snippets");
  const cards = page.getByRole("tabpanel").getByRole("listitem");
  await expect(cards).toHaveCount(2);
  const card = cards.filter({ hasText: "add_numbers" });

  // One name for the file: the one GET /snippets/{id}/raw sends.
  const download = page.waitForEvent("download");
  await card.getByRole("button", { name: "Download as add_numbers.py" }).click();
  expect((await download).suggestedFilename()).toBe("add_numbers.py");

  await card.getByRole("button", { name: /^Delete snippet/ }).click();
  const dialog = page.getByRole("dialog");
  await expect(dialog).toContainText("Delete this snippet?");
  await dialog.getByRole("button", { name: "Delete" }).click();
  await expect(dialog).toBeHidden();
  await expect(cards).toHaveCount(1);
  await expect(page.getByRole("tabpanel")).not.toContainText("add_numbers");

  // Gone for the API too, search included; a reload shows the same.
  const left = await api.get<{ items: { code: string }[] }>("/snippets");
  expect(left.items.map((item) => item.code)).toEqual(["print('hello')"]);
  const found = await api.get<{ items: unknown[] }>("/snippets?q=add_numbers");
  expect(found.items).toEqual([]);
  await page.reload();
  await expect(cards).toHaveCount(1);
});
