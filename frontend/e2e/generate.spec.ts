/** The main journey: sign up with an OpenAI key, watch an answer stream, copy it, regenerate, refine it. */
import {
  OPENAI_KEY,
  answerWith,
  clipboardText,
  expect,
  expectFinished,
  lastAnswer,
  recordAnswerGrowth,
  test,
  uniqueEmail,
} from "./fixtures";

// Long enough (about 100 tokens, 5 s at the fake's pace) that the page is up well before it ends.
const FIRST = `def reverse_words(text: str) -> str:
    """Reverse the order of the words in text.

    Runs of whitespace between the words collapse to single spaces, and
    leading or trailing whitespace is dropped, so "  a   b " becomes "b a".
    An empty or blank text gives an empty string.
    """
    words = text.split()
    words.reverse()
    return " ".join(words)`;
const SECOND = `def reverse_words(text: str) -> str:
    return " ".join(text.split()[::-1])`;
const THIRD = `def reverse_words(text: str, sep: str = " ") -> str:
    return sep.join(text.split(sep)[::-1])`;
const FOURTH = `def reverse_words(text: str, sep: str = " ") -> str:
    if not text:
        return ""
    return sep.join(text.split(sep)[::-1])`;

test("a new user signs up, watches the answer stream in, copies it, regenerates and refines it", async ({ page, fake }) => {
  const email = uniqueEmail();
  await page.goto("/sign-up");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("correct horse battery");
  await page.getByRole("button", { name: "Add your OpenAI API key" }).click();
  await page.getByLabel("OpenAI API key (optional)").fill(OPENAI_KEY);
  await page.getByRole("button", { name: "Create account" }).click();

  // Signed up and in: the new-generation page, with the user's OpenAI models.
  await expect(page).toHaveURL(/\/new$/);
  await expect(page.getByRole("heading", { name: "What should the code do?" })).toBeVisible();
  await expect(page.getByRole("button", { name: /Model gpt-4o-mini/ })).toBeVisible();

  // Generate: the answer arrives word by word (the fake waits between tokens).
  await fake.set({ reply: answerWith(FIRST), token_delay: 0.05 });
  const growth = await recordAnswerGrowth(page);
  await page.getByLabel("Describe the code you need").fill("Write a Python function that reverses the order of the words in a sentence");
  await page.getByRole("button", { name: "Generate", exact: true }).click();
  await expect(page).toHaveURL(/\/c\/[0-9a-f-]{36}$/);
  const thread = page.getByRole("list", { name: "Messages" });
  await expect(thread.getByText("Write a Python function that reverses the order of the words in a sentence")).toBeVisible();
  const answer = lastAnswer(page);
  await expect(answer).toHaveAttribute("aria-busy", "true");
  await expectFinished(answer);
  await expect(answer).toContainText("That is all it needs.");
  const lengths = await growth();
  expect(lengths.length, `answer lengths seen: ${lengths.join(", ")}`).toBeGreaterThanOrEqual(5);
  expect(lengths[0]!, `answer lengths seen: ${lengths.join(", ")}`).toBeLessThan(lengths.at(-1)! / 2);

  // The finished code block is syntax-highlighted Python.
  const code = answer.locator("pre code.language-python");
  await expect(code).toHaveText(FIRST);
  await expect(code.locator(".hljs-keyword").first()).toHaveText("def");
  await expect(code.locator(".hljs-string").first()).toBeVisible();

  // Copy the code block, then the whole answer.
  await answer.getByRole("button", { name: "Copy Python code" }).click();
  await expect(answer.getByRole("button", { name: "Copy Python code" })).toContainText("Copied");
  expect(await clipboardText(page)).toBe(FIRST);
  await answer.getByRole("button", { name: "Copy answer" }).click();
  await expect(answer.getByRole("button", { name: "Copy answer" })).toContainText("Copied");
  expect(await clipboardText(page)).toBe(answerWith(FIRST));

  // Regenerate: a second version, and the switcher moves between the two.
  await fake.set({ reply: answerWith(SECOND), token_delay: 0 });
  await answer.getByRole("button", { name: "Regenerate" }).click();
  const versions = page.getByRole("group", { name: "answer versions" });
  await expect(versions).toContainText("2/2");
  await expectFinished(lastAnswer(page));
  await expect(lastAnswer(page).locator("pre code")).toHaveText(SECOND);
  await versions.getByRole("button", { name: "Previous answer" }).click();
  await expect(versions).toContainText("1/2");
  await expect(lastAnswer(page).locator("pre code")).toHaveText(FIRST);
  await expect(versions.getByRole("button", { name: "Previous answer" })).toBeDisabled();
  await versions.getByRole("button", { name: "Next answer" }).click();
  await expect(versions).toContainText("2/2");
  await expect(lastAnswer(page).locator("pre code")).toHaveText(SECOND);

  // Feedback twice: each is a new answer under the one shown.
  const feedbackBox = page.getByLabel("Feedback on the answer");
  await fake.set({ reply: answerWith(THIRD) });
  await feedbackBox.fill("Let the caller choose the separator");
  await page.getByRole("button", { name: "Send", exact: true }).click();
  await expect(thread.getByText("Let the caller choose the separator")).toBeVisible();
  await expect(feedbackBox).toHaveValue("");
  await expectFinished(lastAnswer(page));
  await expect(lastAnswer(page).locator("pre code")).toHaveText(THIRD);

  await fake.set({ reply: answerWith(FOURTH) });
  await feedbackBox.fill("Return an empty string for empty input");
  await page.getByRole("button", { name: "Send", exact: true }).click();
  await expect(thread.getByText("Return an empty string for empty input")).toBeVisible();
  await expectFinished(lastAnswer(page));
  await expect(lastAnswer(page).locator("pre code")).toHaveText(FOURTH);

  // The thread reads request, answer 2/2, feedback, answer, feedback, answer.
  const answers = page.getByRole("article", { name: "Answer" });
  await expect(answers).toHaveCount(3);
  await expect(answers.nth(0).locator("pre code")).toHaveText(SECOND);
  await expect(answers.nth(1).locator("pre code")).toHaveText(THIRD);

  // What the model saw last: the visible path (the second version, not the first) and both feedbacks.
  const sent = (await fake.chatRequests()).at(-1)!;
  const turns = sent.messages.filter((message) => message.role !== "system").map((message) => message.content);
  expect(turns).toHaveLength(5);
  expect(turns[0]).toContain("reverses the order of the words");
  expect(turns[1]).toContain(SECOND);
  expect(turns[2]).toContain("Let the caller choose the separator");
  expect(turns[3]).toContain(THIRD);
  expect(turns[4]).toContain("Return an empty string for empty input");
  expect(turns.join("\n")).not.toContain("words.reverse()");

  // A reload shows the same thread from the server.
  await page.reload();
  await expect(page.getByRole("article", { name: "Answer" })).toHaveCount(3);
  await expect(lastAnswer(page).locator("pre code")).toHaveText(FOURTH);
  await expect(page.getByRole("navigation", { name: "Main" })).toBeVisible();
  await expect(page.getByText(email)).toBeVisible();
});
