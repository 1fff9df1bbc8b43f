"""Python: `ast` for syntax, then ruff (the PyPI binary, kept running as its language server; `ruff check`
when the server cannot answer) for pyflakes' error rules.

Only rules that mean the code cannot run as written fail a snippet: syntax errors (E9), comparisons and asserts
that are always wrong (F63), `break`/`return`/`yield` out of place (F7) and undefined names (F82). Style and
unused imports never do. A snippet is checked on its own, except that names defined anywhere in the answer's
other Python snippets count as defined (answers often define a function in one block and call it in the next).
"""

from __future__ import annotations

import ast
import functools
import json
import logging
import os
import re
import subprocess
from collections.abc import Iterable
from typing import Any

from codesmith.snippets.checks.result import (
    MAX_DIAGNOSTICS,
    Check,
    Context,
    Diagnostic,
    failed,
    passed,
    unchecked,
    verdict,
)
from codesmith.snippets.checks.ruff_server import RuffServer

RUFF_RULES = "E9,F63,F7,F82"
# The newest syntax ruff knows.
RUFF_TARGET = "py314"
UNDEFINED_NAME = "F821"

logger = logging.getLogger("codesmith.snippets.checks")

_UNDEFINED = re.compile(r"Undefined name `([^`]{1,200})`")
# IPython's line magics and shell escapes (`%timeit f()`, `!pip install x`): notebook lines, never Python
# syntax, so blanking them cannot make broken code pass.
_MAGIC = re.compile(r"^([ \t]*)[%!]")


def check_python(code: str, context: Context) -> Check:
    if _is_console_transcript(code):
        return unchecked()  # `>>> x = 1` with its output: a session to read, not a file to run
    source = _without_magics(code)
    syntax_error = _ast_syntax_error(source)
    found = _ruff(source, context)
    if found is None:  # ruff missing, failed, out of time or not understood: what ast says stands
        return failed("python-ast", [syntax_error]) if syntax_error else passed("python-ast")
    # Where ast failed, ruff's parser (which knows the newest syntax) decides: a snippet may use syntax newer
    # than the Python this server runs on.
    return verdict("ruff", found)


def defined_names(code: str) -> frozenset[str]:
    """Every name the code binds anywhere (assignments, definitions, imports, loop targets); nothing when it
    does not parse. Generous on purpose: it only excuses other snippets' undefined names."""
    try:
        tree = ast.parse(_without_magics(code))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return frozenset()
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return frozenset(names)


def _is_console_transcript(code: str) -> bool:
    first = next((line for line in code.split("\n", 50)[:50] if line.strip()), "")
    return first.lstrip().startswith(">>>")


def _without_magics(code: str) -> str:
    if "%" not in code and "!" not in code:
        return code
    return "\n".join(_MAGIC.sub(r"\1pass #", line, count=1) for line in code.split("\n"))


def _ast_syntax_error(source: str) -> Diagnostic | None:
    try:
        ast.parse(source)
    except SyntaxError as error:
        return Diagnostic(error.lineno or 1, error.offset or 1, "SyntaxError", error.msg or "invalid syntax")
    except ValueError as error:  # source code string cannot contain null bytes (3.11)
        line = source.count("\n", 0, max(source.find("\0"), 0)) + 1
        return Diagnostic(line, 1, "SyntaxError", str(error))
    except (RecursionError, MemoryError):
        return Diagnostic(1, 1, "SyntaxError", "too deeply nested to parse")
    return None


@functools.cache
def ruff_binary() -> str | None:
    try:
        from ruff.__main__ import find_ruff_bin

        path = os.fsdecode(find_ruff_bin())
    except (ImportError, FileNotFoundError):
        logger.warning("ruff is not installed: Python snippets are checked with ast only")
        return None
    return path


def _ruff(source: str, context: Context) -> list[Diagnostic] | None:
    """ruff's findings that stand, from its server or, when the server cannot answer, from `ruff check`;
    None when ruff is missing, fails or runs out of time."""
    timeout = context.remaining()
    if ruff_binary() is None or timeout <= 0:
        return None
    items = RUFF_SERVER.diagnostics(source, timeout)
    found = _server_findings(items, context.defined_names) if items is not None else None
    if found is not None:
        return found
    output = _ruff_check(source, context.remaining())
    return _findings(output, context.defined_names) if output is not None else None


# `ruff server`'s settings: `ruff check --isolated --target-version ... --select ...` as its editor
# configuration, no settings file consulted.
SERVER_SETTINGS = {
    "configurationPreference": "editorOnly",
    "configuration": {"target-version": RUFF_TARGET, "lint": {"select": RUFF_RULES.split(",")}},
    "logLevel": "error",
}
RUFF_SERVER = RuffServer(lambda: ruff_binary(), SERVER_SETTINGS)  # looked up when started (tests replace it)


def _server_findings(items: list[dict[str, Any]], defined_names: frozenset[str]) -> list[Diagnostic] | None:
    """The server's diagnostics that stand, in the order of the code (the server sends them by rule; its
    answer is capped in size, so all are read before the first MAX_DIAGNOSTICS are taken)."""
    kept = _standing(map(_server_diagnostic, items), defined_names, limit=None)
    return None if kept is None else sorted(kept, key=lambda found: (found.line, found.column))[:MAX_DIAGNOSTICS]


def _server_diagnostic(item: dict[str, Any]) -> Diagnostic:
    """An LSP diagnostic as `ruff check` words it: positions 1-based, the message's first paragraph (the
    server adds "help: ...", which the CLI leaves out)."""
    start = item["range"]["start"]
    code = item.get("code")
    message = str(item["message"]).split("\n\n", 1)[0]
    return Diagnostic(int(start["line"]) + 1, int(start["character"]) + 1, code and str(code), message)


def _ruff_check(source: str, timeout: float) -> bytes | None:
    """`ruff check` on the snippet (its standard input): its findings as JSON lines, one a line, in the order
    of the code (a hostile answer can make ruff report tens of thousands; `_findings` reads the first few)."""
    binary = ruff_binary()
    if binary is None or timeout <= 0:
        return None
    command = [binary, "check", "--isolated", "--no-cache", "--quiet", "--output-format", "json-lines"]
    command += ["--target-version", RUFF_TARGET, "--select", RUFF_RULES, "--stdin-filename", "snippet.py", "-"]
    return _run_ruff_process(command, source, timeout)


def _run_ruff_process(command: list[str], source: str, timeout: float) -> bytes | None:
    try:
        # Fixed arguments, no shell; a snippet only ever reaches ruff's standard input.
        run = subprocess.run(  # noqa: S603
            command,
            input=source.encode("utf-8", "replace"),  # a lone surrogate becomes one "?": columns stay true
            capture_output=True,
            timeout=timeout,
            check=False,
            env={"PATH": os.environ.get("PATH", ""), "NO_COLOR": "1"},
        )
    except (subprocess.TimeoutExpired, OSError) as error:
        logger.warning("ruff did not answer", extra={"error": type(error).__name__})
        return None
    if run.returncode not in (0, 1):
        logger.warning("ruff failed", extra={"returncode": run.returncode})
        return None
    return run.stdout


def _findings(output: bytes, defined_names: frozenset[str]) -> list[Diagnostic] | None:
    """The first MAX_DIAGNOSTICS findings of `ruff check`'s JSON lines that stand; the lines after them are
    never parsed."""
    return _standing((_diagnostic(json.loads(line)) for line in output.splitlines()), defined_names)


def _standing(
    found: Iterable[Diagnostic], defined_names: frozenset[str], limit: int | None = MAX_DIAGNOSTICS
) -> list[Diagnostic] | None:
    """The findings that stand (an undefined name another snippet defines does not), up to `limit`; None
    when ruff's answer is not what ruff sends."""
    kept: list[Diagnostic] = []
    try:
        for diagnostic in found:
            if not _defined_elsewhere(diagnostic, defined_names):
                kept.append(diagnostic)
                if len(kept) == limit:
                    break
    except (ValueError, KeyError, TypeError):
        logger.warning("ruff's answer was not what ruff sends")
        return None
    return kept


def _diagnostic(item: dict[str, Any]) -> Diagnostic:
    location = item.get("location") or {}
    return Diagnostic(int(location["row"]), int(location["column"]), item.get("code"), str(item["message"]))


def _defined_elsewhere(found: Diagnostic, names: frozenset[str]) -> bool:
    if found.code != UNDEFINED_NAME or not names:
        return False
    match = _UNDEFINED.search(found.message)
    return match is not None and match.group(1) in names
