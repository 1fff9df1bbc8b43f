import { execFileSync } from "node:child_process";
import { defineConfig, devices } from "@playwright/test";

// End-to-end specs run in the system Chromium (never a downloaded browser) against the real backend,
// which e2e/serve.mjs starts with the built SPA, a temp SQLite database and the fake upstream
// (tests/fakes/upstream.py). Set E2E_BASE_URL and E2E_FAKE_URL to use a stack that already runs.

/** A free loopback port, found synchronously (the config must be plain data when it is loaded). */
function freePort(): string {
  const script =
    "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{process.stdout.write(String(s.address().port));s.close()})";
  return execFileSync(process.execPath, ["-e", script], { encoding: "utf8" }).trim();
}

const external = Boolean(process.env.E2E_BASE_URL);
// Picked once in the main process; workers inherit the variables, so they load the same values.
if (!external) {
  process.env.E2E_APP_PORT ??= freePort();
  process.env.E2E_FAKE_PORT ??= freePort();
  process.env.E2E_BASE_URL = `http://127.0.0.1:${process.env.E2E_APP_PORT}`;
  process.env.E2E_FAKE_URL = `http://127.0.0.1:${process.env.E2E_FAKE_PORT}`;
  // serve.mjs makes this administrator (`codesmith create-admin`) before any spec registers an account.
  process.env.E2E_ADMIN_EMAIL ??= "admin@e2e.example.com";
  process.env.E2E_ADMIN_PASSWORD ??= "e2e administrator passphrase";
}
const baseURL = process.env.E2E_BASE_URL!;

export default defineConfig({
  testDir: "./e2e",
  fullyParallel: false,
  workers: 1,
  // A flaky browser test is a bug to fix, not to retry.
  retries: 0,
  timeout: 30_000,
  expect: { timeout: 10_000 },
  globalTimeout: 10 * 60_000,
  forbidOnly: Boolean(process.env.CI),
  reporter: process.env.CI ? [["list"], ["html", { open: "never" }]] : "list",
  use: {
    baseURL,
    locale: "en-US",
    timezoneId: "UTC",
    colorScheme: "light",
    viewport: { width: 1280, height: 800 },
    permissions: ["clipboard-read", "clipboard-write"],
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
  },
  projects: [
    {
      name: "chromium",
      use: {
        ...devices["Desktop Chrome"],
        viewport: { width: 1280, height: 800 },
        launchOptions: {
          executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
          args: [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
          ],
        },
      },
    },
  ],
  webServer: external
    ? undefined
    : {
        // Builds the SPA when it is stale, then starts the fake upstream and a migrated backend.
        command: "node e2e/serve.mjs",
        url: `${baseURL}/readyz`,
        reuseExistingServer: false,
        timeout: 300_000,
        stdout: "pipe",
        stderr: "pipe",
        gracefulShutdown: { signal: "SIGTERM", timeout: 15_000 },
      },
});
