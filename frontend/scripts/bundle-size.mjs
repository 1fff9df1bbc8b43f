// Gzipped JavaScript a first visit downloads: the entry chunk and its static imports, plus each route's
// chunk (and its static imports) on top. Run after `npm run build`.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const dist = "dist";
const assets = join(dist, "assets");
const html = readFileSync(join(dist, "index.html"), "utf8");
const gz = (file) => gzipSync(readFileSync(join(assets, file)), { level: 9 }).length;

function staticClosure(start) {
  const seen = new Set();
  const queue = [...start];
  while (queue.length) {
    const file = queue.pop();
    if (seen.has(file)) continue;
    seen.add(file);
    const code = readFileSync(join(assets, file), "utf8");
    // Static imports only (`import … from "./x.js"`, `import "./x.js"`); `import("./x.js")` stays lazy.
    for (const match of code.matchAll(/(?:from|import)\s*["']\.\/([\w.-]+\.js)["']/g)) queue.push(match[1]);
  }
  return seen;
}

const entries = [...html.matchAll(/(?:src|href)="\/assets\/([\w.-]+\.js)"/g)].map((match) => match[1]);
const shell = staticClosure(entries);
const sum = (files) => [...files].reduce((total, file) => total + gz(file), 0);
const css = readdirSync(assets).filter((file) => file.endsWith(".css")).reduce((total, file) => total + gz(file), 0);
const kb = (bytes) => `${(bytes / 1024).toFixed(1)} kB`;

console.log(`shell (entry + static imports): ${kb(sum(shell))} JS gzip, CSS ${kb(css)} gzip`);
const routes = readdirSync(assets).filter((file) => /^(Home|SignIn|SignUp|NewGeneration|Conversation|Models|Settings|Usage|Admin|Users|Audit|Registration)-/.test(file));
let worst = 0;
for (const route of routes.sort()) {
  const total = sum(new Set([...shell, ...staticClosure([route])]));
  worst = Math.max(worst, total);
  console.log(`first load at ${route.split("-")[0].padEnd(14)} ${kb(total)} JS gzip`);
}
const limit = 200 * 1024;
console.log(worst <= limit ? `OK: every first load is under ${kb(limit)}` : `OVER BUDGET: ${kb(worst)} > ${kb(limit)}`);
process.exit(worst <= limit ? 0 : 1);
