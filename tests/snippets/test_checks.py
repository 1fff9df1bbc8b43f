"""Snippet checkers, one language at a time: valid code passes, broken code fails at the right place, and the
checker is named; languages without a checker, transcripts and templates are unchecked."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from codesmith.snippets import checks
from codesmith.snippets.checks import Context, check_code, check_off_the_loop, check_snippets, failures
from codesmith.snippets.checks.result import MAX_DIAGNOSTICS, MAX_MESSAGE_CHARS
from codesmith.snippets.extract import ExtractedSnippet
from codesmith.snippets.schemas import SnippetCheck


def where(check: dict[str, Any]) -> list[tuple[int, int]]:
    return [(found["line"], found["column"]) for found in check["diagnostics"]]


VALID = {
    "python": "import os\nimport sys\n\n\ndef main() -> None:\n    print(sys.argv)\n\n\nmain()\n",
    "javascript": "import React from 'react';\nexport const App = () => <div>{[1, 2].map((n) => n * 2)}</div>;\n",
    "jsx": "const el = <ul>{items.map((i) => <li key={i}>{i}</li>)}</ul>;\n",
    "typescript": "interface P { name: string }\nexport function hi(p: P): string {\n  return `hi ${p.name}`;\n}\n",
    "tsx": "type P = { n: number };\nexport const C = ({ n }: P) => <span>{n}</span>;\n",
    "go": 'package main\n\nimport "fmt"\n\nfunc main() {\n\tfmt.Println("é")\n}\n',
    "rust": 'fn main() {\n    let v: Vec<i32> = vec![1, 2];\n    println!("{:?}", v);\n}\n',
    "java": 'public class Hello {\n  public static void main(String[] args) {\n    System.out.println("hi");\n  }\n}\n',
    "c": '#include <stdio.h>\n\nint main(void) {\n    printf("hi\\n");\n    return 0;\n}\n',
    "cpp": "#include <vector>\n\nint main() {\n  std::vector<int> v{1, 2};\n  return v[0];\n}\n",
    "bash": 'set -euo pipefail\nfor f in *.txt; do\n  echo "$f"\ndone\n',
    "json": '{\n  "name": "app",\n  "version": "1.0.0"\n}\n',
    "yaml": "services:\n  web:\n    image: nginx\n---\nkind: Other\n",
    "toml": '[project]\nname = "app"\nversion = "0.1.0"\n',
    "sql": "CREATE TABLE users (\n  id SERIAL PRIMARY KEY,\n  email TEXT NOT NULL\n);\nSELECT * FROM users;\n",
}

# (language, code, line, column or None where the parser's column is its own business, checker)
INVALID = [
    ("javascript", "const a = 1;\nfunction f( {\n  return a;\n}\n", 2, None, "tree-sitter-javascript"),
    ("typescript", "const a: number = 1;\nlet b = (a +;\n", 2, None, "tree-sitter-typescript"),
    ("tsx", "export const C = () => (\n  <div>\n);\n", 1, None, "tree-sitter-tsx"),
    ("go", "package main\n\nfunc main() {\n\tx := 1 +\n}\n", 4, 9, "tree-sitter-go"),
    ("rust", "fn main() {\n    let x = 5\n}\n", 2, 14, "tree-sitter-rust"),
    ("java", "class A {\n  void f() {\n    int x = 1\n  }\n}\n", 3, 14, "tree-sitter-java"),
    ("c", "int main(void) {\n    return 0\n}\n", 2, 13, "tree-sitter-c"),
    ("cpp", "int main() {\n  int x = (1 + ;\n}\n", 2, None, "tree-sitter-cpp"),
    ("bash", 'if [ -f x ]; then\n  echo "yes"\n', 3, None, "tree-sitter-bash"),
    ("json", '{\n  "a": 1,\n}\n', 3, 1, "json"),
    ("yaml", "a: 1\nb: [1, 2\nc: 3\n", 3, 2, "yaml"),
    ("toml", '[a]\nb = "x"\nc = \n', 3, 5, "toml"),
    ("sql", "SELECT a\nFROM t\nWHERE AND b = 1;\n", 3, None, "sqlglot"),
]


class TestEachLanguage:
    @pytest.mark.parametrize("language", sorted(VALID))
    def test_valid_code_passes(self, language: str) -> None:
        check = check_code(language, VALID[language])
        assert check["status"] == "passed", check
        assert check["checker"] and check["diagnostics"] == []

    @pytest.mark.parametrize(("language", "code", "line", "column", "checker"), INVALID)
    def test_broken_code_fails_where_it_breaks(
        self, language: str, code: str, line: int, column: int | None, checker: str
    ) -> None:
        check = check_code(language, code)
        assert (check["status"], check["checker"]) == ("failed", checker)
        first = check["diagnostics"][0]
        assert first["line"] == line
        if column is not None:
            assert first["column"] == column
        assert first["message"]
        SnippetCheck.model_validate(check)

    def test_missing_tokens_are_named(self) -> None:
        check = check_code("rust", "fn main() {\n    let x = 5\n}\n")
        assert check["diagnostics"][0]["message"] == "missing `;`"

    def test_columns_count_characters_not_bytes(self) -> None:
        code = 'fn main() { let s = "ééé"; let x = 5 }\n'
        # The missing `;` goes right after the 5: character 37, byte 40.
        assert where(check_code("rust", code)) == [(1, code.index("5 }") + 2)]


class TestPython:
    def test_a_syntax_error_fails_at_its_line(self) -> None:
        check = check_code("python", "def f(x):\n    return x\n\nfor i in range(3)\n    print(i)\n")
        assert (check["status"], check["checker"]) == ("failed", "ruff")
        assert check["diagnostics"][0]["line"] == 4
        assert check["diagnostics"][0]["code"] == "invalid-syntax"

    def test_an_undefined_name_fails(self) -> None:
        check = check_code("python", "def area(r):\n    return pi * r ** 2\n")
        assert check["status"] == "failed"
        assert [(d["line"], d["column"], d["code"]) for d in check["diagnostics"]] == [(2, 12, "F821")]
        assert check["diagnostics"][0]["message"] == "Undefined name `pi`"

    def test_style_and_unused_imports_pass(self) -> None:
        check = check_code("python", "import os, sys\nx=1;y = 2\nprint( x+y )\n")
        assert check == {"status": "passed", "checker": "ruff", "diagnostics": []}

    def test_return_outside_a_function_fails(self) -> None:
        check = check_code("python", "x = 1\nreturn x\n")
        assert [(d["line"], d["code"]) for d in check["diagnostics"]] == [(2, "F706")]

    def test_syntax_newer_than_this_python_passes(self) -> None:
        # PEP 695 (3.12): ast on 3.11 cannot parse it; ruff, which knows the newest syntax, decides.
        check = check_code("python", "type Pair[T] = tuple[T, T]\n\ndef first[T](p: Pair[T]) -> T:\n    return p[0]\n")
        assert check["status"] == "passed"

    def test_notebook_magics_are_not_syntax_errors(self) -> None:
        assert check_code("python", "!pip install httpx\n%timeit sum(range(9))\nimport httpx\n")["status"] == "passed"

    def test_a_console_transcript_is_unchecked(self) -> None:
        assert check_code("python", ">>> 1 + 1\n2\n>>> print('x')\nx\n")["status"] == "unchecked"

    def test_names_defined_in_the_answers_other_python_snippets_count(self) -> None:
        snippets = [
            ExtractedSnippet("python", "print(add(1, 2))\n", "usage"),
            ExtractedSnippet("python", "import math\n\ndef add(a, b):\n    return a + b\n", "add"),
            ExtractedSnippet("python", "print(add(math.pi, missing))\n", "more"),
        ]
        found = check_snippets(snippets, time.monotonic() + 5)
        assert [check["status"] for check in found] == ["passed", "passed", "failed"]
        assert [d["message"] for d in found[2]["diagnostics"]] == ["Undefined name `missing`"]

    def test_without_ruff_ast_still_catches_syntax_errors(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(checks.python, "ruff_binary", lambda: None)
        broken = check_code("python", "x = (1,\n")
        assert (broken["status"], broken["checker"]) == ("failed", "python-ast")
        assert check_code("python", "print(undefined)\n") == {
            "status": "passed",
            "checker": "python-ast",
            "diagnostics": [],
        }


class TestDataFormats:
    def test_json_with_comments_passes_as_jsonc(self) -> None:
        assert check_code("json", '{\n  // the port\n  "port": 80 /* default */\n}\n')["status"] == "passed"

    def test_a_slash_inside_a_json_string_is_not_a_comment(self) -> None:
        check = check_code("json", '{"url": "http://x//y", }')
        assert check["status"] == "failed"

    def test_yaml_custom_tags_pass(self) -> None:
        assert check_code("yaml", "Bucket: !Ref MyBucket\nName: !Sub '${AWS::StackName}-b'\n")["status"] == "passed"

    def test_every_yaml_document_is_checked(self) -> None:
        check = check_code("yaml", "a: 1\n---\nb: [\n")
        assert check["status"] == "failed" and check["diagnostics"][0]["line"] >= 3

    def test_a_helm_template_is_unchecked(self) -> None:
        assert check_code("yaml", "image: {{ .Values.image }}\n")["status"] == "unchecked"

    @pytest.mark.parametrize(
        "sql",
        [
            "SELECT `name` FROM `users` LIMIT 1;",  # MySQL
            "SELECT TOP 10 name FROM users;",  # T-SQL
            "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT);",  # SQLite
            "INSERT INTO users (name) VALUES ('a') RETURNING id;",  # PostgreSQL
        ],
    )
    def test_dialect_specific_sql_passes(self, sql: str) -> None:
        assert check_code("sql", sql)["status"] == "passed"


class TestWhatIsNotChecked:
    @pytest.mark.parametrize("language", [None, "text", "html", "ruby", "dockerfile", "markdown"])
    def test_languages_without_a_checker(self, language: str | None) -> None:
        assert check_code(language, "anything at all {") == {"status": "unchecked", "checker": None, "diagnostics": []}

    def test_a_shell_transcript_is_unchecked(self) -> None:
        assert check_code("bash", "$ ls -la\ntotal 8 (two files)\n")["status"] == "unchecked"

    def test_code_over_the_size_cap(self) -> None:
        assert check_code("go", "x" * (checks.MAX_CHECKED_CHARS + 1))["status"] == "unchecked"

    def test_past_the_deadline(self) -> None:
        assert check_code("go", "package main\n", Context(deadline=time.monotonic() - 1))["status"] == "unchecked"

    def test_a_checker_that_raises_gives_unchecked(self, monkeypatch: pytest.MonkeyPatch) -> None:
        def explode(code: str, context: Context) -> dict[str, Any]:
            raise RuntimeError("boom")

        monkeypatch.setitem(checks.CHECKERS, "json", explode)
        assert check_code("json", "{}")["status"] == "unchecked"


class TestLimits:
    def test_diagnostics_are_capped_ordered_and_short(self) -> None:
        code = "\n".join(f"print(undefined_{n}_{'x' * 300})" for n in range(40))
        check = check_code("python", code)
        assert len(check["diagnostics"]) == MAX_DIAGNOSTICS
        lines = [found["line"] for found in check["diagnostics"]]
        assert lines == sorted(lines) == list(range(1, MAX_DIAGNOSTICS + 1))
        assert all(len(found["message"]) <= MAX_MESSAGE_CHARS for found in check["diagnostics"])

    def test_the_cap_counts_only_findings_that_stand(self) -> None:
        # 30 names another snippet defines come first: they are not problems, and the cap does not stop
        # reading before the real ones after them.
        helpers = [f"helper_{n}" for n in range(30)]
        code = "\n".join([*(f"{name}()" for name in helpers), "print(missing_a)", "print(missing_b)"])
        context = Context(deadline=time.monotonic() + 5, defined_names=frozenset(helpers))
        check = check_code("python", code, context)
        assert check["status"] == "failed"
        assert [(found["line"], found["code"]) for found in check["diagnostics"]] == [(31, "F821"), (32, "F821")]

    def test_a_huge_parse_stops_at_the_deadline(self) -> None:
        started = time.monotonic()
        check = check_code("cpp", "{" * 190_000, Context(deadline=time.monotonic() + 0.005))
        assert check["status"] in ("unchecked", "failed")
        assert time.monotonic() - started < 0.5


class TestOffTheLoop:
    async def test_an_answers_snippets_are_checked_in_order(self) -> None:
        snippets = [
            ExtractedSnippet("go", "package main\nfunc main() {\n", "a"),
            ExtractedSnippet("json", "{}", "b"),
            ExtractedSnippet(None, "words", "c"),
        ]
        found = await check_off_the_loop(snippets)
        assert [check["status"] for check in found] == ["failed", "passed", "unchecked"]
        assert failures(found) == [0]

    async def test_the_loop_keeps_running_while_snippets_are_checked(self) -> None:
        # Long enough that checking them takes tens of milliseconds.
        snippets = [ExtractedSnippet("python", f"x_{n} = {n}\n" * 3_000, str(n)) for n in range(8)]
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.001)
                ticks += 1

        ticker = asyncio.create_task(tick())
        found = await check_off_the_loop(snippets)
        ticker.cancel()
        assert [check["status"] for check in found] == ["passed"] * 8
        assert ticks >= 5  # the loop ticked meanwhile

    async def test_past_the_answers_budget_the_rest_is_unchecked(self) -> None:
        snippets = [ExtractedSnippet("python", f"x = {n}\n" * 10_000, str(n)) for n in range(50)]  # ms each
        started = time.monotonic()
        found = await check_off_the_loop(snippets, budget=0.05)
        assert time.monotonic() - started < 1.0
        assert found[-1]["status"] == "unchecked" and len(found) == 50
        assert {check["status"] for check in found} <= {"passed", "unchecked"}

    def test_stored_checks_that_are_none_are_not_failures(self) -> None:
        assert failures([None, {"status": "passed"}, {"status": "failed"}]) == [2]


class TestGarbageCollection:
    def test_sql_checks_leave_the_collector_as_they_found_it(self) -> None:
        import gc

        assert gc.isenabled()
        check_code("sql", "SELECT 1;")
        check_code("sql", "SELECT FROM WHERE (;")
        assert gc.isenabled()
        gc.disable()
        try:
            check_code("sql", "SELECT 1;")
            assert not gc.isenabled()
        finally:
            gc.enable()
