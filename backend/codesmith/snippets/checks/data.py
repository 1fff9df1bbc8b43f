"""JSON, YAML and TOML with their parsers; SQL with sqlglot in the dialects models write."""

from __future__ import annotations

import gc
import json
import logging
import re
import threading
import time
import tomllib

import sqlglot
import yaml
from sqlglot.errors import ParseError, TokenError

from codesmith.snippets.checks.result import Check, Context, Diagnostic, failed, passed, unchecked

# Generic SQL first, then the dialects whose own syntax models use (`SERIAL`, backticks, `AUTOINCREMENT`,
# `TOP 10`): a statement valid in any of them passes.
SQL_DIALECTS: tuple[str | None, ...] = (None, "postgres", "mysql", "sqlite", "tsql")
# sqlglot is pure Python (about 1 ms per 10 lines, per dialect): longer SQL is not checked.
MAX_SQL_CHARS = 50_000

_TOML_PLACE = re.compile(r"\(at line (\d+), column (\d+)\)")
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml caps nesting at 1000 levels

logging.getLogger("sqlglot").setLevel(logging.ERROR)  # it warns about every construct it only half knows


def check_json(code: str, context: Context) -> Check:
    try:
        json.loads(code)
    except json.JSONDecodeError as error:
        # Models write JSON with comments (tsconfig, VS Code settings: JSONC, mapped to json by the
        # extractor). Comments pass; anything else is reported where strict JSON broke.
        if "/" in code and _parses(_without_comments(code)):
            return passed("json")
        return failed("json", [Diagnostic(error.lineno, error.colno, None, error.msg)])
    return passed("json")


def check_yaml(code: str, context: Context) -> Check:
    if "{{" in code or "{%" in code:
        return unchecked()  # a Helm or Jinja template: YAML only once rendered
    try:
        # Composed, not constructed: custom tags (CloudFormation's !Ref) are valid YAML.
        for _document in yaml.compose_all(code, Loader=_YAML_LOADER):
            pass
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        return failed("yaml", [Diagnostic(line, column, None, error.problem or error.context or "invalid YAML")])
    except yaml.YAMLError as error:
        return failed("yaml", [Diagnostic(1, 1, None, str(error))])
    return passed("yaml")


def check_toml(code: str, context: Context) -> Check:
    try:
        tomllib.loads(code)
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        place = _TOML_PLACE.search(message)
        line, column = (int(place.group(1)), int(place.group(2))) if place else (code.count("\n") + 1, 1)
        return failed("toml", [Diagnostic(line, column, None, _TOML_PLACE.sub("", message).strip())])
    return passed("toml")


def check_sql(code: str, context: Context) -> Check:
    if len(code) > MAX_SQL_CHARS:
        return unchecked()
    first: list[Diagnostic] | None = None
    took = 0.0
    for dialect in SQL_DIALECTS:
        if context.remaining() < took:  # the next dialect would take about as long as the last one
            return unchecked()
        started = time.monotonic()
        found = _sql_problems(code, dialect)
        took = time.monotonic() - started
        if not found:
            return passed("sqlglot")
        first = first if first is not None else found
    return failed("sqlglot", first or [])


class _GarbageCollectionPause:
    """The cycle collector off while any SQL parse runs (a counter: checks run in several threads).

    sqlglot builds many short-lived objects; the collections they set off tripled the p95 of a 300-line
    parse (13 -> 53 ms). Its trees hold no cycles that need the collector meanwhile, and a parse is bounded
    by MAX_SQL_CHARS and the snippet's deadline."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running = 0
        self._was_enabled = False

    def __enter__(self) -> None:
        with self._lock:
            if self._running == 0:
                self._was_enabled = gc.isenabled()
                gc.disable()
            self._running += 1

    def __exit__(self, *_exc: object) -> None:
        with self._lock:
            self._running -= 1
            if self._running == 0 and self._was_enabled:
                gc.enable()


_gc_paused = _GarbageCollectionPause()


def _sql_problems(code: str, dialect: str | None) -> list[Diagnostic]:
    try:
        with _gc_paused:
            sqlglot.parse(code, read=dialect)
    except ParseError as error:
        return [
            Diagnostic(int(item.get("line") or 1), int(item.get("col") or 1), None, str(item.get("description")))
            for item in error.errors
        ] or [Diagnostic(1, 1, None, str(error))]
    except TokenError as error:
        return [Diagnostic(1, 1, None, str(error))]
    return []


def _parses(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _without_comments(code: str) -> str:
    """`//` and `/* */` comments blanked (outside strings), one linear pass."""
    out: list[str] = []
    index, length = 0, len(code)
    in_string = False
    while index < length:
        char = code[index]
        if in_string:
            out.append(char)
            if char == "\\" and index + 1 < length:
                out.append(code[index + 1])
                index += 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
            out.append(char)
        elif code.startswith("//", index):
            end = code.find("\n", index)
            index = length if end < 0 else end
            continue
        elif code.startswith("/*", index):
            end = code.find("*/", index + 2)
            index = length if end < 0 else end + 2
            out.append(" ")
            continue
        else:
            out.append(char)
        index += 1
    return "".join(out)
