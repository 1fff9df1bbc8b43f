/**
 * Screenshots of the main pages for docs/screenshots (1280x800, the viewport only, light theme plus one
 * dark), taken from a realistic account. E2E_SCREENSHOT_DIR writes them elsewhere.
 */
import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Page } from "@playwright/test";
import { Api, OPENAI_KEY, PASSWORD, answerWith, expect, expectFinished, lastAnswer, registerAccount, signInPage, test, uniqueEmail } from "./fixtures";

const DIR = process.env.E2E_SCREENSHOT_DIR ?? fileURLToPath(new URL("../../docs/screenshots/", import.meta.url));

const CONVERSATIONS: { prompt: string; language: string; code: string; intro: string }[] = [
  {
    prompt: "Write a Go program that fetches a list of URLs concurrently, at most 5 at a time, and prints each status code",
    language: "go",
    intro: "A buffered channel works as a semaphore that caps the requests in flight:",
    code: `package main

import (
	"fmt"
	"net/http"
	"os"
	"sync"
)

func main() {
	limit := make(chan struct{}, 5)
	var wg sync.WaitGroup
	for _, url := range os.Args[1:] {
		wg.Add(1)
		go func(url string) {
			defer wg.Done()
			limit <- struct{}{}
			defer func() { <-limit }()
			resp, err := http.Get(url)
			if err != nil {
				fmt.Println(url, err)
				return
			}
			resp.Body.Close()
			fmt.Println(url, resp.StatusCode)
		}(url)
	}
	wg.Wait()
}`,
  },
  {
    prompt: "Monthly revenue per country over the last 12 months, from orders(id, customer_id, total, created_at) and customers(id, name, country)",
    language: "sql",
    intro: "Join the orders to their customers, then group by country and month:",
    code: `SELECT c.country,
       date_trunc('month', o.created_at) AS month,
       sum(o.total)                      AS revenue
FROM orders o
JOIN customers c ON c.id = o.customer_id
WHERE o.created_at >= date_trunc('month', now()) - interval '11 months'
GROUP BY c.country, month
ORDER BY month, revenue DESC;`,
  },
  {
    prompt: "A React hook useDebouncedValue(value, delayMs) that cleans up on unmount",
    language: "typescript",
    intro: "The timer restarts whenever the value changes and is cleared on unmount:",
    code: `import { useEffect, useState } from "react";

export function useDebouncedValue<T>(value: T, delayMs: number): T {
  const [debounced, setDebounced] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setDebounced(value), delayMs);
    return () => clearTimeout(timer);
  }, [value, delayMs]);
  return debounced;
}`,
  },
  {
    prompt: "Write a Python function that reads an nginx access log and returns the 10 most requested paths, skipping static files",
    language: "python",
    intro: "A `Counter` over the request paths, skipping static assets by extension:",
    code: `import re
from collections import Counter
from pathlib import Path

REQUEST = re.compile(r'"(?:GET|POST|PUT|DELETE|HEAD) (?P<path>\\S+) HTTP/[\\d.]+"')
STATIC = (".css", ".js", ".png", ".jpg", ".jpeg", ".gif", ".svg", ".ico", ".woff2")


def top_paths(log_file: Path, count: int = 10) -> list[tuple[str, int]]:
    """The most requested paths in an nginx access log, static files left out."""
    paths: Counter[str] = Counter()
    with log_file.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            match = REQUEST.search(line)
            if match is None:
                continue
            path = match["path"].split("?", 1)[0]
            if not path.lower().endswith(STATIC):
                paths[path] += 1
    return paths.most_common(count)`,
  },
];

async function settle(page: Page): Promise<void> {
  await expect(page.locator(".animate-pulse")).toHaveCount(0);
  await page.evaluate(() => document.fonts.ready);
}

async function shoot(page: Page, name: string): Promise<void> {
  await settle(page);
  await page.screenshot({ path: `${DIR}/${name}.png`, animations: "disabled", caret: "hide" });
}

test("screenshots of the main pages", async ({ page, request, fake }) => {
  test.setTimeout(60_000);
  mkdirSync(DIR, { recursive: true });
  // A stack of our own starts empty, so the pictures can show a friendly address; a shared one may have it taken.
  const account = await registerAccount(request, { email: process.env.E2E_APP_PORT ? "ada@example.com" : uniqueEmail() });
  const api = new Api(request, account);
  for (const item of CONVERSATIONS.slice(0, 3)) {
    await fake.set({ reply: answerWith(item.code, item.language, item.intro) });
    await api.createConversation(item.prompt, { language: item.language });
  }
  const model = await api.post<{ id: string }>("/models", {
    name: "Qwen2.5 Coder 7B (vLLM)",
    provider: "openai_compatible",
    model: "fake-coder",
    base_url: `${fake.url}/v1`,
    api_key: OPENAI_KEY,
    context_window: 32768,
  });
  await api.post(`/models/${model.id}/check`, {}, 200);
  await api.post("/users/me/api-tokens", { name: "CI pipeline", expires_in_days: 90 });

  // Sign in through the form.
  await page.goto("/sign-in");
  await page.getByLabel("Email").fill(account.email);
  await page.getByLabel("Password").fill(PASSWORD);
  await shoot(page, "sign-in");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { name: "Your work" })).toBeVisible();

  // A fourth answer, streamed in the browser, is the conversation shown.
  const python = CONVERSATIONS[3]!;
  await page.getByRole("link", { name: "New generation" }).first().click();
  await page.getByLabel("Describe the code you need").fill(python.prompt);
  await page.getByLabel("Language").selectOption(python.language);
  await shoot(page, "new-generation");
  await fake.set({ reply: answerWith(python.code, python.language, python.intro) });
  await page.getByRole("button", { name: "Generate", exact: true }).click();
  await expectFinished(lastAnswer(page));
  await expect(lastAnswer(page).locator("pre code .hljs-keyword").first()).toBeVisible();
  await page.locator("#main").evaluate((main) => main.scrollTo(0, 0));
  await shoot(page, "conversation");

  await page.getByRole("button", { name: "Dark" }).click();
  await expect(page.locator("html")).toHaveClass(/dark/);
  await shoot(page, "conversation-dark");
  await page.getByRole("button", { name: "Light" }).click();
  await expect(page.locator("html")).not.toHaveClass(/dark/);

  await page.getByRole("link", { name: "Home", exact: true }).click();
  await expect(page.getByRole("tabpanel").getByRole("link")).toHaveCount(4);
  await shoot(page, "home");

  await page.getByRole("link", { name: "Models", exact: true }).click();
  await expect(page.getByText("Qwen2.5 Coder 7B (vLLM)")).toBeVisible();
  await shoot(page, "models");

  await page.getByRole("link", { name: "Settings", exact: true }).click();
  await expect(page.getByText("CI pipeline")).toBeVisible();
  await shoot(page, "settings");
  // Below the tokens: export, import, retention and leaving.
  await page.locator("#your-data-heading").evaluate((heading) => heading.scrollIntoView({ block: "start" }));
  await expect(page.getByRole("heading", { name: "Your data" })).toBeInViewport();
  await shoot(page, "your-data");

  await page.getByRole("link", { name: "Usage", exact: true }).click();
  await expect(page.getByRole("img", { name: /Tokens and cost per day/ })).toBeVisible();
  await shoot(page, "usage");
});

test("a screenshot of the admin console", async ({ page, admin }) => {
  await signInPage(page, admin.account);
  await page.goto("/admin");
  // The newest accounts first: alone (make screenshots) the administrator's row is there; after the whole suite
  // it is pages down, so wait for the table's first row of users, whoever it is.
  await expect(page.getByRole("table").getByRole("row").nth(1)).toBeVisible();
  await shoot(page, "admin");
});

test("an answer whose code fails its check is repaired once, in the same stream (and its screenshot)", async ({
  app: page,
  fake,
}) => {
  test.setTimeout(60_000);
  mkdirSync(DIR, { recursive: true });
  const broken = 'def mean(values: list[float]) -> float:\n    """The average of values."""\n    return sum(values) / len(value)';
  const fixed = 'def mean(values: list[float]) -> float:\n    """The average of values."""\n    return sum(values) / len(values)';
  await fake.set({
    replies: [answerWith(broken, "python", "Here is the function:"), answerWith(fixed, "python", "Fixed: the name is `values`.")],
  });
  await page.goto("/new");
  await page.getByLabel("Describe the code you need").fill("Write a Python function that returns the mean of a list");
  await page.getByRole("button", { name: "Generate", exact: true }).click();
  const note = page.getByLabel("Automatic repair");
  await expect(note).toContainText("Fixed 1 problem");
  await expectFinished(lastAnswer(page));
  await expect(lastAnswer(page).getByText("passed")).toBeVisible();
  // Both calls reached the model: the second with the checker's diagnostic of the first answer.
  const requests = await fake.chatRequests();
  expect(requests).toHaveLength(2);
  expect(requests[1]!.messages.at(-1)!.content).toContain("F821");
  await note.getByRole("button", { name: "Show changes" }).click();
  const diff = page.getByRole("figure", { name: "Changes from the version it repairs" });
  await expect(diff.locator('[data-diff="removed"]').filter({ hasText: "len(value)" })).toHaveCount(1);
  await expect(diff.locator('[data-diff="added"]').filter({ hasText: "len(values)" })).toHaveCount(1);
  await shoot(page, "repair");

  // The version it repaired: its check failed, and the problem is listed at its line.
  await page.getByRole("button", { name: "Previous answer" }).click();
  const problems = lastAnswer(page).getByRole("button", { name: "1 problem" });
  await problems.click();
  await expect(lastAnswer(page).getByRole("list", { name: "Problems" })).toContainText("3:");
  await expect(lastAnswer(page).getByRole("list", { name: "Problems" })).toContainText("F821");
  await shoot(page, "check");
});
