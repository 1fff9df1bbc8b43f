"""Snippet checks: each checker's time on a ~300-line realistic snippet (p50/p95 over N runs, the budget is
p95 <= 50 ms), on pathological input (bounded by the snippet's deadline), and what checking adds to the end of
a typical streamed answer (check_off_the_loop on its snippets, before the final write).

In process, no server: `python -m bench --only checks`.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench.stats import percentile
from codesmith.snippets.checks import CHECKERS, check_code, check_off_the_loop
from codesmith.snippets.extract import extract_snippets

TARGET_LINES = 300
BUDGET_MS = 50.0

# One unit of realistic code per language, repeated with fresh names (`{n}`) up to TARGET_LINES.
UNITS: dict[str, tuple[str, str]] = {
    "python": (
        "import json\nfrom dataclasses import dataclass\n\n",
        "@dataclass\nclass Item{n}:\n    name: str\n    price: float\n\n\n"
        "def total_{n}(items: list[Item{n}], tax: float = 0.2) -> float:\n"
        '    """Sum the prices, with tax."""\n    subtotal = sum(item.price for item in items)\n'
        "    if subtotal < 0:\n        raise ValueError('negative')\n"
        "    return round(subtotal * (1 + tax), 2)\n\n\n"
        "def dump_{n}(items: list[Item{n}]) -> str:\n"
        "    return json.dumps([item.__dict__ for item in items], indent=2)\n\n\n",
    ),
    "javascript": (
        "import fs from 'node:fs';\n\n",
        "export async function load{n}(path) {{\n  const text = await fs.promises.readFile(path, 'utf8');\n"
        "  const rows = text.split('\\n').filter(Boolean).map((line) => line.split(','));\n"
        "  return rows.map(([name, price]) => ({{ name, price: Number(price) }}));\n}}\n\n"
        "export const View{n} = ({{ items }}) => (\n  <ul>\n"
        "    {{items.map((i) => <li key={{i.name}}>{{i.name}}</li>)}}\n"
        "  </ul>\n);\n\n",
    ),
    "typescript": (
        "type Row = { name: string; price: number };\n\n",
        "export function parse{n}(text: string): Row[] {{\n  return text\n    .split('\\n')\n    .filter(Boolean)\n"
        "    .map((line) => {{\n      const [name, price] = line.split(',');\n"
        "      return {{ name, price: Number(price) }};\n    }});\n}}\n\n"
        "export class Cart{n}<T extends Row> {{\n  private items: T[] = [];\n  add(item: T): void {{\n"
        "    this.items.push(item);\n  }}\n  total(): number {{\n"
        "    return this.items.reduce((sum, i) => sum + i.price, 0);\n  }}\n}}\n\n",
    ),
    "go": (
        'package main\n\nimport (\n\t"fmt"\n\t"strings"\n)\n\n',
        "type Item{n} struct {{\n\tName  string\n\tPrice float64\n}}\n\n"
        "func Total{n}(items []Item{n}) (float64, error) {{\n\tsum := 0.0\n\tfor _, it := range items {{\n"
        '\t\tif it.Price < 0 {{\n\t\t\treturn 0, fmt.Errorf("negative price: %s", it.Name)\n\t\t}}\n'
        "\t\tsum += it.Price\n\t}}\n\treturn sum, nil\n}}\n\n"
        "func Names{n}(items []Item{n}) string {{\n\tparts := make([]string, 0, len(items))\n"
        "\tfor _, it := range items {{\n\t\tparts = append(parts, it.Name)\n\t}}\n"
        '\treturn strings.Join(parts, ", ")\n}}\n\n',
    ),
    "rust": (
        "use std::collections::HashMap;\n\n",
        "#[derive(Debug, Clone)]\npub struct Item{n} {{\n    pub name: String,\n    pub price: f64,\n}}\n\n"
        "pub fn total_{n}(items: &[Item{n}]) -> Result<f64, String> {{\n    let mut sum = 0.0;\n"
        "    for it in items {{\n        if it.price < 0.0 {{\n"
        '            return Err(format!("negative: {{}}", it.name));\n        }}\n        sum += it.price;\n    }}\n'
        "    Ok(sum)\n}}\n\npub fn index_{n}(items: &[Item{n}]) -> HashMap<&str, f64> {{\n"
        "    items.iter().map(|i| (i.name.as_str(), i.price)).collect()\n}}\n\n",
    ),
    "java": (
        "import java.util.*;\n\npublic class Shop {\n",
        "  record Item{n}(String name, double price) {{}}\n\n"
        "  static double total{n}(List<Item{n}> items) {{\n    double sum = 0;\n    for (Item{n} it : items) {{\n"
        '      if (it.price() < 0) throw new IllegalArgumentException("negative");\n      sum += it.price();\n'
        "    }}\n    return sum;\n  }}\n\n  static Map<String, Double> index{n}(List<Item{n}> items) {{\n"
        "    Map<String, Double> out = new HashMap<>();\n    items.forEach(i -> out.put(i.name(), i.price()));\n"
        "    return out;\n  }}\n\n",
    ),
    "c": (
        "#include <stdio.h>\n#include <stdlib.h>\n\n",
        "typedef struct {{\n    const char *name;\n    double price;\n}} item{n};\n\n"
        "static double total_{n}(const item{n} *items, size_t n) {{\n    double sum = 0;\n"
        "    for (size_t i = 0; i < n; i++) {{\n        if (items[i].price < 0) {{\n"
        '            fprintf(stderr, "negative: %s\\n", items[i].name);\n            exit(1);\n        }}\n'
        "        sum += items[i].price;\n    }}\n    return sum;\n}}\n\n",
    ),
    "cpp": (
        "#include <string>\n#include <vector>\n#include <numeric>\n\n",
        "struct Item{n} {{\n  std::string name;\n  double price;\n}};\n\n"
        "template <typename It>\ndouble total{n}(It first, It last) {{\n"
        "  return std::accumulate(first, last, 0.0, [](double s, const Item{n}& i) {{ return s + i.price; }});\n}}\n\n"
        "class Cart{n} {{\n public:\n  void add(Item{n} item) {{ items_.push_back(std::move(item)); }}\n"
        "  double total() const {{ return total{n}(items_.begin(), items_.end()); }}\n\n private:\n"
        "  std::vector<Item{n}> items_;\n}};\n\n",
    ),
    "bash": (
        "#!/usr/bin/env bash\nset -euo pipefail\n\n",
        'backup_{n}() {{\n  local src="$1" dest="$2"\n  if [[ ! -d "$src" ]]; then\n'
        '    echo "no such directory: $src" >&2\n    return 1\n  fi\n'
        '  tar -czf "$dest/backup-$(date +%F)-{n}.tar.gz" -C "$src" .\n'
        '  find "$dest" -name "*.tar.gz" -mtime +7 -delete\n}}\n\n'
        'for f in ./data/*.csv; do\n  case "$f" in\n    *_{n}.csv) wc -l "$f" ;;\n    *) : ;;\n  esac\ndone\n\n',
    ),
    "sql": (
        "",
        "CREATE TABLE orders_{n} (\n  id SERIAL PRIMARY KEY,\n  customer_id INTEGER NOT NULL,\n"
        "  total NUMERIC(10, 2) NOT NULL DEFAULT 0,\n  created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP\n);\n\n"
        "SELECT c.name, COUNT(o.id) AS orders, SUM(o.total) AS spent\nFROM customers AS c\n"
        "JOIN orders_{n} AS o ON o.customer_id = c.id\nWHERE o.created_at >= '2024-01-01'\n"
        "GROUP BY c.name\nHAVING SUM(o.total) > 100\nORDER BY spent DESC\nLIMIT 10;\n\n",
    ),
    "yaml": (
        "services:\n",
        "  web{n}:\n    image: nginx:1.27\n    ports:\n      - '80{n}:80'\n    environment:\n"
        "      LOG_LEVEL: info\n      WORKERS: 4\n    depends_on: [db{n}]\n"
        "  db{n}:\n    image: postgres:17\n    volumes:\n      - db{n}:/var/lib/postgresql/data\n",
    ),
    "json": (
        '{\n  "items": [\n',
        '    {{"id": {n}, "name": "item {n}", "price": 9.99, "tags": ["a", "b"],\n'
        '     "stock": {{"warehouse": "north", "count": 12, "reserved": false}}}},\n',
    ),
    "toml": (
        '[project]\nname = "shop"\nversion = "0.1.0"\n\n',
        '[tool.section{n}]\nenabled = true\nthreshold = 0.5\nnames = ["a", "b", "c"]\n'
        'owner = {{ name = "x", email = "x@example.com" }}\n\n',
    ),
}
# The language's snippet with the JSON array closed, the Java class closed.
CLOSERS = {"json": '    {"id": 0}\n  ]\n}\n', "java": "}\n"}
SAME_AS = {"jsx": "javascript", "tsx": "typescript"}

PATHOLOGICAL = {
    "deep nesting (100k open parens)": "(" * 100_000,
    "quotes left open (90k chars)": "\"'`" * 30_000,
    "1 MB line (over the size cap)": "x" * 1_000_000,
}

TYPICAL_ANSWER = (
    "Here is the script:\n\n```python\n" + UNITS["python"][0] + UNITS["python"][1].format(n=1) + "```\n\n"
    "Run it:\n\n```bash\npython shop.py --input items.json\n```\n\n"
    'With this input:\n\n```json\n{"items": [{"name": "a", "price": 1.5}]}\n```\n'
)


def snippet(language: str, lines: int = TARGET_LINES) -> str:
    head, unit = UNITS[SAME_AS.get(language, language)]
    parts, n = [head], 0
    while sum(part.count("\n") for part in parts) < lines:
        n += 1
        parts.append(unit.format(n=n))
    return "".join(parts) + CLOSERS.get(SAME_AS.get(language, language), "")


def _timings(language: str, code: str, runs: int) -> dict[str, Any]:
    check_code(language, code)  # warm: grammars loaded, ruff's binary in the page cache
    samples = []
    status = None
    for _ in range(runs):
        started = time.perf_counter()
        status = check_code(language, code)["status"]
        samples.append((time.perf_counter() - started) * 1000)
    return {
        "lines": code.count("\n"),
        "status": status,
        "p50_ms": round(percentile(samples, 50) or 0, 2),
        "p95_ms": round(percentile(samples, 95) or 0, 2),
    }


def _answer_timings(runs: int) -> dict[str, Any]:
    snippets = extract_snippets(TYPICAL_ANSWER)

    async def measure() -> list[float]:
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            await check_off_the_loop(snippets)
            samples.append((time.perf_counter() - started) * 1000)
        return samples

    samples = asyncio.run(measure())
    return {
        "snippets": [found.language for found in snippets],
        "p50_ms": round(percentile(samples, 50) or 0, 2),
        "p95_ms": round(percentile(samples, 95) or 0, 2),
    }


def run(*, quick: bool = False) -> dict[str, Any]:
    runs = 20 if quick else 100
    per_language = {language: _timings(language, snippet(language), runs) for language in sorted(CHECKERS)}
    pathological = {
        name: {language: _timings(language, code, 3)["p95_ms"] for language in sorted(CHECKERS)}
        for name, code in PATHOLOGICAL.items()
    }
    return {
        "runs": runs,
        "budget_ms": BUDGET_MS,
        "per_language": per_language,
        "pathological_max_ms": pathological,
        "typical_answer": _answer_timings(runs),
    }


def render(results: dict[str, Any]) -> str:
    rows = [
        f"| {language} | {row['lines']} | {row['status']} | {row['p50_ms']} | {row['p95_ms']} |"
        for language, row in results["per_language"].items()
    ]
    worst = [
        f"| {name} | {max(times.values())} ({max(times, key=lambda key: times[key])}) |"
        for name, times in results["pathological_max_ms"].items()
    ]
    answer = results["typical_answer"]
    return "\n".join(
        [
            f"{results['runs']} runs per language; budget p95 <= {results['budget_ms']:.0f} ms for 300 lines.",
            "",
            "| language | lines | status | p50 ms | p95 ms |",
            "| --- | --- | --- | --- | --- |",
            *rows,
            "",
            "| pathological input | slowest checker, ms |",
            "| --- | --- |",
            *worst,
            "",
            f"A typical answer ({', '.join(str(item) for item in answer['snippets'])}): checking adds "
            f"p50 {answer['p50_ms']} ms, p95 {answer['p95_ms']} ms before the final write.",
        ]
    )
