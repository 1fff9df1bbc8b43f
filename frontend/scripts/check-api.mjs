// Fails when src/api/schema.d.ts is out of date relative to openapi.json (run `npm run gen:api`).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const dir = mkdtempSync(join(tmpdir(), "codesmith-api-"));
const fresh = join(dir, "schema.d.ts");
try {
  execFileSync("npx", ["--no-install", "openapi-typescript", "openapi.json", "--default-non-nullable", "false", "-o", fresh], { stdio: "ignore" });
  const committed = readFileSync("src/api/schema.d.ts", "utf8");
  if (readFileSync(fresh, "utf8") !== committed) {
    console.error("src/api/schema.d.ts is out of date with openapi.json: run `npm run gen:api` and commit it.");
    process.exit(1);
  }
  console.log("src/api/schema.d.ts is up to date.");
} finally {
  rmSync(dir, { recursive: true, force: true });
}
