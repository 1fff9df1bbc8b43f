/** A day of use: a long answer stays in view while it streams (until the reader scrolls up; ↓ brings them back),
 * Enter sends, focus returns to the composer, and `?` lists the shortcuts. */
import type { Page } from "@playwright/test";
import { expect, lastAnswer, test } from "./fixtures";

async function scrollTop(page: Page): Promise<number> {
  return page.locator("#main").evaluate((element) => element.scrollTop);
}

async function distanceFromBottom(page: Page): Promise<number> {
  return page.locator("#main").evaluate((element) => element.scrollHeight - element.scrollTop - element.clientHeight);
}

async function followsAndJumps(page: Page) {
  test.setTimeout(150_000);
  await page.goto("/new");
  const prompt = page.getByLabel("Describe the code you need");
  await prompt.fill("Sum the numbers from 0 to 399 step by step [[reply:long]]");
  await prompt.press("Enter"); // Enter sends
  const caret = page.locator(".streaming-caret");
  await expect(caret).toBeVisible({ timeout: 60_000 });

  // While it streams, the newest text stays in view, checked at every step until the answer is more than a
  // screenful past the top (how soon depends on the machine's speed, not on the app).
  const overflow = () => page.locator("#main").evaluate((e) => e.scrollHeight - e.clientHeight);
  for (let step = 0; step < 4 || ((await overflow()) <= 400 && step < 30); step++) {
    await page.waitForTimeout(700);
    await expect.poll(() => distanceFromBottom(page), { timeout: 1000 }).toBeLessThan(60);
  }
  expect(await overflow()).toBeGreaterThan(400);

  // The reader scrolls up: the page stays put and the ↓ button appears.
  await page.locator("#main").hover();
  await page.mouse.wheel(0, -600);
  // Let the smooth scroll settle before measuring.
  await expect.poll(async () => { const before = await scrollTop(page); await page.waitForTimeout(250); return Math.abs((await scrollTop(page)) - before); }).toBeLessThan(2);
  const held = await scrollTop(page);
  await page.waitForTimeout(1200);
  expect(Math.abs((await scrollTop(page)) - held)).toBeLessThan(5);
  await expect(caret).not.toBeInViewport();
  const jump = page.getByRole("button", { name: "Jump to latest" });
  await expect(jump).toBeVisible();

  // ↓ brings them back and following resumes.
  await jump.click();
  await expect(jump).toBeHidden();
  await expect.poll(() => distanceFromBottom(page), { timeout: 3000 }).toBeLessThan(60);

  // When the answer is done, the composer has the focus again (if it ended before the click on ↓, that click
  // took the focus, as it should).
  const stillStreaming = (await lastAnswer(page).getAttribute("aria-busy")) === "true";
  await expect(lastAnswer(page)).toHaveAttribute("aria-busy", "false", { timeout: 60_000 });
  if (stillStreaming) await expect(page.getByLabel("Feedback on the answer")).toBeFocused();
}

test.describe("desktop", () => {
  test("a streaming answer is followed, and ↓ brings a reader back", async ({ app: page, fake }) => {
    await fake.set({ token_delay: 0.01 });
    await followsAndJumps(page);
  });

  test("? lists the shortcuts and the send-key setting; n starts a new generation", async ({ app: page }) => {
    await page.goto("/");
    await expect(page.getByRole("heading").first()).toBeVisible();
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await page.keyboard.press("?");
    const dialog = page.getByRole("dialog", { name: "Keyboard shortcuts" });
    await expect(dialog).toBeVisible();
    await expect(dialog.getByText("New generation")).toBeVisible();
    await dialog.getByRole("checkbox", { name: /Send with .*Enter/ }).check();
    await page.keyboard.press("Escape");
    await expect(dialog).toBeHidden();
    await page.keyboard.press("n");
    await expect(page).toHaveURL(/\/new$/);
    const prompt = page.getByLabel("Describe the code you need");
    await prompt.fill("one");
    await prompt.press("Enter");
    await expect(page).toHaveURL(/\/new$/); // Enter adds a line with the Ctrl+Enter preference
    await expect(prompt).toHaveValue("one\n");
  });
});

test.describe("phone", () => {
  test.use({ viewport: { width: 390, height: 844 } });

  test("a streaming answer is followed, and ↓ brings a reader back", async ({ app: page, fake }) => {
    await fake.set({ token_delay: 0.01 });
    await followsAndJumps(page);
  });
});
