/**
 * Running an answer's code in the browser (issue 17): Python through Pyodide served by the app, the time
 * limit, the HTML preview's sandbox (no storage, no session, no API as the user), and the snippets' zip.
 */
import { inflateRawSync } from "node:zlib";
import { readFile } from "node:fs/promises";
import { answerWith, expect, lastAnswer, test } from "./fixtures";

// Pyodide loads once per run (about 12 MB, cached by the browser after the first).
const PYODIDE_LOAD = 90_000;

test("Run on a Python snippet prints its output, from Pyodide served by the app", async ({ app: page, api, fake }) => {
  test.setTimeout(PYODIDE_LOAD + 30_000);
  const code = 'import sys\nprint("sum:", sum(range(10)))\nprint("to stderr", file=sys.stderr)';
  await fake.set({ reply: answerWith(code) });
  const conversation = await api.createConversation("Write a Python script that sums 0..9");
  const wasm: string[] = [];
  page.on("response", (response) => {
    if (response.url().endsWith(".wasm")) wasm.push(`${new URL(response.url()).origin} ${response.headers()["content-type"]}`);
  });
  await page.goto(`/c/${conversation.id}`);
  const answer = lastAnswer(page);
  await answer.getByRole("button", { name: "Run Python code" }).click();
  const output = answer.getByRole("log", { name: "Output" });
  await expect(output).toContainText("sum: 45", { timeout: PYODIDE_LOAD });
  await expect(output).toContainText("to stderr");
  await expect(answer.getByRole("status").filter({ hasText: "Finished" })).toBeVisible();
  // The runtime came from this app (never a CDN), as WebAssembly.
  expect(wasm).toEqual([`${new URL(page.url()).origin} application/wasm`]);
});

test("an endless loop is stopped by the time limit", async ({ app: page, api, fake }) => {
  test.setTimeout(PYODIDE_LOAD + 40_000);
  await fake.set({ reply: answerWith('print("started")\nwhile True:\n    pass') });
  const conversation = await api.createConversation("Write a Python loop that never ends");
  await page.goto(`/c/${conversation.id}`);
  const answer = lastAnswer(page);
  await answer.getByRole("button", { name: "Run Python code" }).click();
  await expect(answer.getByRole("log", { name: "Output" })).toContainText("started", { timeout: PYODIDE_LOAD });
  const started = Date.now();
  await expect(answer.getByText("Stopped: the 10 s time limit")).toBeVisible({ timeout: 20_000 });
  expect(Date.now() - started).toBeGreaterThan(8_000);
  // The worker went with its frame: no sandbox is left on the page.
  await expect(page.locator('iframe[src="/sandbox.html"]')).toHaveCount(0);
});

test("JavaScript runs in the sandbox and prints its console", async ({ app: page, api, fake }) => {
  await fake.set({ reply: answerWith('console.log("js says", 6 * 7);\nconsole.log(typeof localStorage, typeof document);', "javascript") });
  const conversation = await api.createConversation("Write JavaScript that multiplies");
  await page.goto(`/c/${conversation.id}`);
  const answer = lastAnswer(page);
  await answer.getByRole("button", { name: "Run JavaScript code" }).click();
  const output = answer.getByRole("log", { name: "Output" });
  await expect(output).toContainText("js says 42");
  // A worker: no page, no storage.
  await expect(output).toContainText("undefined undefined");
});

const PROBE = `<!doctype html>
<html><body>
<p id="storage">pending</p><p id="parent">pending</p><p id="cookie">pending</p><p id="api">pending</p>
<script>
  function report(id, text) { document.getElementById(id).textContent = id + ": " + text; }
  try { report("storage", "read " + String(localStorage.getItem("codesmith.theme") !== undefined)); }
  catch (error) { report("storage", "blocked " + error.name); }
  try { report("parent", "read " + parent.document.title); }
  catch (error) { report("parent", "blocked " + error.name); }
  try { report("cookie", "read [" + document.cookie + "]"); }
  catch (error) { report("cookie", "blocked " + error.name); }
  fetch("/api/v1/users/me", { credentials: "include" })
    .then(function (r) { return r.text().then(function (t) { report("api", "status " + r.status + " " + t.slice(0, 80)); }); })
    .catch(function (error) { report("api", "blocked " + error.name); });
  fetch("/api/v1/auth/refresh", { method: "POST", credentials: "include" })
    .then(function (r) { return r.text().then(function (t) { report("api", "refresh " + r.status + " " + t.slice(0, 80)); }); })
    .catch(function () {});
</script>
</body></html>`;

test("a previewed HTML page runs its scripts but cannot read the app's storage nor call the API as the user", async ({
  app: page,
  api,
  fake,
}) => {
  await fake.set({ reply: answerWith(PROBE, "html") });
  const conversation = await api.createConversation("Write an HTML page that probes its sandbox");
  await page.goto(`/c/${conversation.id}`);
  await page.evaluate(() => localStorage.setItem("e2e-secret", "do not leak"));
  const answer = lastAnswer(page);
  await answer.getByRole("button", { name: "Preview HTML" }).click();
  const frame = page.frameLocator('iframe[title="Preview"]');
  await expect(frame.locator("#storage")).toHaveText(/^storage: blocked SecurityError$/);
  await expect(frame.locator("#parent")).toHaveText(/^parent: blocked SecurityError$/);
  await expect(frame.locator("#cookie")).toHaveText(/^cookie: (blocked SecurityError|read \[\])$/);
  // The API answers the opaque origin with no readable body, or a 401 (no token, no refresh cookie).
  await expect(frame.locator("#api")).toHaveText(/^api: (blocked TypeError|status 401)/);
  await page.waitForTimeout(500);
  await expect(frame.locator("#api")).not.toContainText("access_token");
  await expect(frame.locator("#api")).not.toContainText(api.account.email);
  // The page still works (its session was not spent by the preview's refresh attempt).
  await page.reload();
  await expect(lastAnswer(page)).toBeVisible();
  await expect(page.getByText(api.account.email)).toBeVisible();
});

/** The names and contents of a zip's entries (stored or deflated), read with node's zlib. */
function readZip(buffer: Buffer): Map<string, string> {
  const entries = new Map<string, string>();
  const end = buffer.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const count = buffer.readUInt16LE(end + 10);
  let offset = buffer.readUInt32LE(end + 16);
  for (let i = 0; i < count; i++) {
    const method = buffer.readUInt16LE(offset + 10);
    const size = buffer.readUInt32LE(offset + 20);
    const nameLength = buffer.readUInt16LE(offset + 28);
    const extraLength = buffer.readUInt16LE(offset + 30);
    const commentLength = buffer.readUInt16LE(offset + 32);
    const local = buffer.readUInt32LE(offset + 42);
    const name = buffer.toString("utf8", offset + 46, offset + 46 + nameLength);
    const dataStart = local + 30 + buffer.readUInt16LE(local + 26) + buffer.readUInt16LE(local + 28);
    const data = buffer.subarray(dataStart, dataStart + size);
    entries.set(name, (method === 8 ? inflateRawSync(data) : data).toString("utf8"));
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

test("Download all saves a zip of the conversation's snippets under their file names", async ({ app: page, api, fake }) => {
  const two = "```python\ndef add(a, b):\n    return a + b\n```\n\nAnd a test:\n\n```python\nassert add(1, 2) == 3\n```\n";
  await fake.set({ reply: `Here it is:\n\n${two}` });
  const conversation = await api.createConversation("Write a Python function that adds two numbers");
  await page.goto(`/c/${conversation.id}`);
  const download = page.waitForEvent("download");
  await page.getByRole("button", { name: "Download all snippets" }).click();
  const file = await download;
  expect(file.suggestedFilename()).toMatch(/\.zip$/);
  const entries = readZip(await readFile((await file.path())!));
  const stored = (await api.conversation(conversation.id)).messages.flatMap((m) => m.snippets) as unknown as { filename: string; code: string }[];
  // Both blocks are named add.py by the one naming rule; in the zip the second is numbered, in answer order.
  expect(stored.map((s) => s.filename)).toEqual(["add.py", "add.py"]);
  expect([...entries.keys()]).toEqual(["add.py", "add-2.py"]);
  expect(entries.get("add.py")?.trim()).toBe(stored[0].code.trim());
  expect(entries.get("add-2.py")?.trim()).toBe(stored[1].code.trim());
});
