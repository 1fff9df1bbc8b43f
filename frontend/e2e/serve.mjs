#!/usr/bin/env node
/**
 * The stack the browser specs run against (Playwright's webServer): the fake OpenAI-compatible upstream,
 * a migrated SQLite database in a temp folder with the specs' administrator, and `codesmith serve` with the built SPA.
 * Builds the SPA first when frontend/dist is missing or older than its sources. Stops everything on SIGTERM.
 *
 * Ports come from E2E_APP_PORT / E2E_FAKE_PORT (playwright.config.ts picks free ones), else free ones here.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const frontend = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const root = resolve(frontend, "..");
const venvBin = join(root, ".venv", "bin");
const dist = join(frontend, "dist");

const children = [];
let workdir = null;
let stopping = false;

function log(message) {
  process.stdout.write(`[e2e] ${message}\n`);
}

function freePort() {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
  });
}

/** The newest modification time under `path` (a file or a folder), 0 when it does not exist. */
function newestMtime(path) {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

function buildSpaIfStale() {
  const built = existsSync(join(dist, "index.html")) ? statSync(join(dist, "index.html")).mtimeMs : 0;
  const inputs = ["src", "public", "index.html", "vite.config.ts", "package-lock.json", "tsconfig.app.json"];
  const newest = Math.max(...inputs.map((input) => newestMtime(join(frontend, input))));
  if (built > newest && process.env.E2E_FORCE_BUILD !== "1") return;
  log(built ? "the SPA build is older than its sources: rebuilding (npm run build)" : "building the SPA (npm run build)");
  const result = spawnSync("npm", ["run", "build"], { cwd: frontend, stdio: ["ignore", "inherit", "inherit"] });
  if (result.status !== 0) throw new Error(`npm run build failed (exit ${result.status})`);
}

/** The backend's environment: ours only, so a developer's CODESMITH_* variables or .env cannot leak in. */
function backendEnv(fakeUrl) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("CODESMITH_")));
  return {
    ...env,
    CODESMITH_ENV: "development",
    CODESMITH_DATABASE_URL: `sqlite+aiosqlite:///${join(workdir, "codesmith.db")}`,
    CODESMITH_DATA_DIR: workdir,
    CODESMITH_SPA_DIR: dist,
    CODESMITH_OPENAI_BASE_URL: `${fakeUrl}/v1`,
    CODESMITH_OPENAI_MODELS: "gpt-4o-mini,gpt-4.1-mini",
    CODESMITH_ALLOW_PRIVATE_MODEL_HOSTS: "true",
    // Generous limits: the specs create many generations and sign-ins within a minute.
    CODESMITH_RATE_LIMIT_REQUESTS_PER_MINUTE: "1000",
    CODESMITH_RATE_LIMIT_TOKENS_PER_DAY: "1000000",
    CODESMITH_LOGIN_FAILURES_ALLOWED: "1000",
    CODESMITH_LOGIN_FAILURES_PER_EMAIL: "1000",
    CODESMITH_REGISTRATIONS_PER_HOUR: "0",
    CODESMITH_LOG_LEVEL: "WARNING",
    CODESMITH_LOG_JSON: "false",
  };
}

function start(name, command, args, env) {
  const logPath = join(workdir, `${name}.log`);
  const out = openSync(logPath, "a");
  // cwd is the temp folder: a .env in the repository must not configure the test server.
  const child = spawn(command, args, { cwd: workdir, env, stdio: ["ignore", out, out] });
  child.logPath = logPath;
  child.once("exit", (code, signal) => {
    if (stopping) return;
    process.stderr.write(`[e2e] ${name} exited unexpectedly (${signal ?? code}); its log:\n${tail(logPath)}\n`);
    void shutdown(1);
  });
  children.push(child);
  return child;
}

function tail(path, lines = 40) {
  try {
    return readFileSync(path, "utf8").split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

/** The specs' administrator (E2E_ADMIN_EMAIL / E2E_ADMIN_PASSWORD), so no spec's account becomes one by being first. */
function createAdmin(env) {
  const email = process.env.E2E_ADMIN_EMAIL;
  if (!email) return;
  const made = spawnSync(join(venvBin, "codesmith"), ["create-admin", email, "--password-stdin"], {
    cwd: workdir,
    env,
    input: `${process.env.E2E_ADMIN_PASSWORD ?? ""}\n`,
    encoding: "utf8",
  });
  if (made.status !== 0) throw new Error(`codesmith create-admin failed:\n${made.stdout}\n${made.stderr}`);
}

async function waitFor(url, what, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((wake) => setTimeout(wake, 100));
  }
  throw new Error(`${what} did not answer at ${url} within ${timeoutMs / 1000} s`);
}

async function shutdown(code) {
  if (stopping) return;
  stopping = true;
  await Promise.all(
    children.map(
      (child) =>
        new Promise((done) => {
          if (child.exitCode !== null || child.signalCode !== null) return done();
          const force = setTimeout(() => child.kill("SIGKILL"), 8000);
          child.once("exit", () => {
            clearTimeout(force);
            done();
          });
          child.kill("SIGTERM");
        }),
    ),
  );
  if (workdir && process.env.E2E_KEEP_DATA !== "1") rmSync(workdir, { recursive: true, force: true });
  else if (workdir) log(`data and logs kept in ${workdir}`);
  process.exit(code);
}

async function main() {
  for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"]) process.on(signal, () => void shutdown(0));
  if (!existsSync(join(venvBin, "codesmith"))) throw new Error(`${venvBin}/codesmith is missing: run \`make venv\` first`);
  buildSpaIfStale();

  const appPort = Number(process.env.E2E_APP_PORT) || (await freePort());
  const fakePort = Number(process.env.E2E_FAKE_PORT) || (await freePort());
  const fakeUrl = `http://127.0.0.1:${fakePort}`;
  workdir = mkdtempSync(join(tmpdir(), "codesmith-e2e-"));

  // The fake imports tests.fakes.upstream from the repository root.
  const pythonPath = [root, process.env.PYTHONPATH].filter(Boolean).join(":");
  start("upstream", join(venvBin, "python"), ["-m", "tests.fakes.upstream", "--port", String(fakePort)], {
    ...process.env,
    PYTHONPATH: pythonPath,
  });
  const env = backendEnv(fakeUrl);
  const migrate = spawnSync(join(venvBin, "codesmith"), ["migrate"], { cwd: workdir, env, encoding: "utf8" });
  if (migrate.status !== 0) throw new Error(`codesmith migrate failed:\n${migrate.stdout}\n${migrate.stderr}`);
  createAdmin(env);
  start("codesmith", join(venvBin, "codesmith"), ["serve", "--host", "127.0.0.1", "--port", String(appPort)], env);

  await waitFor(`${fakeUrl}/v1/models`, "the fake upstream");
  await waitFor(`http://127.0.0.1:${appPort}/readyz`, "codesmith");
  log(`codesmith on http://127.0.0.1:${appPort}, fake upstream on ${fakeUrl}, data in ${workdir}`);
}

main().catch((error) => {
  process.stderr.write(`[e2e] ${error instanceof Error ? error.message : String(error)}\n`);
  void shutdown(1);
});
