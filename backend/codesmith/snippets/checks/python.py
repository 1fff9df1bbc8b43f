"""Python: `ast` for syntax, then ruff (the PyPI binary, a subprocess reading stdin) for pyflakes' error rules.

Only rules that mean the code cannot run as written fail a snippet: syntax errors (E9), comparisons and asserts
that are always wrong (F63), `break`/`return`/`yield` out of place (F7) and undefined names (F82). Style and
unused imports never do. A snippet is checked on its own, except that names defined anywhere in the answer's
other Python snippets count as defined (answers often define a function in one block and call it in the next).
"""

from __future__ import annotations

import ast
import functools
import logging
import os
import re
import subprocess

from codesmith.snippets.checks.result import Check, Context, Diagnostic, failed, passed, unchecked, verdict

RUFF_RULES = "E9,F63,F7,F82"
# The newest syntax ruff knows.
RUFF_TARGET = "py314"
UNDEFINED_NAME = "F821"

logger = logging.getLogger("codesmith.snippets.checks")

# One finding of `--output-format concise`: `snippet.py:3:7: F821 Undefined name `y`` or, for a syntax error,
# `snippet.py:1:7: invalid-syntax: Expected ...`.
_FINDING = re.compile(
    r"^snippet\.py:(?P<row>\d+):(?P<column>\d+): (?P<code>invalid-syntax|[A-Z]+[0-9]+):? (?P<message>.*)$", re.M
)
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
    if found is None:  # ruff missing, failed or out of time: what ast says stands
        return failed("python-ast", [syntax_error]) if syntax_error else passed("python-ast")
    # Where ast failed, ruff's parser (which knows the newest syntax) decides: a snippet may use syntax newer
    # than the Python this server runs on.
    return verdict("ruff", [item for item in found if not _defined_elsewhere(item, context.defined_names)])


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
    binary = ruff_binary()
    timeout = context.remaining()
    if binary is None or timeout <= 0:
        return None
    # `concise`, one line a finding: a tenth of the JSON format's bytes, which matters when a hostile answer makes
    # ruff report thousands of findings.
    command = [binary, "check", "--isolated", "--no-cache", "--quiet", "--output-format", "concise"]
    command += ["--target-version", RUFF_TARGET, "--select", RUFF_RULES, "--stdin-filename", "snippet.py", "-"]
    try:
        # Fixed arguments, no shell; the snippet only ever reaches ruff's standard input.
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
    found = [_diagnostic(match) for match in _FINDING.finditer(run.stdout.decode("utf-8", "replace"))]
    if run.returncode == 1 and not found:
        logger.warning("ruff's output was not the format expected")
        return None
    return found


def _diagnostic(match: re.Match[str]) -> Diagnostic:
    row, column, code, message = match.group("row", "column", "code", "message")
    return Diagnostic(int(row), int(column), code, message)


def _defined_elsewhere(found: Diagnostic, names: frozenset[str]) -> bool:
    if found.code != UNDEFINED_NAME or not names:
        return False
    match = _UNDEFINED.search(found.message)
    return match is not None and match.group(1) in names
