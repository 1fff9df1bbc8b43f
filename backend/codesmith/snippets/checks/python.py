"""Python: `ast` for syntax, then ruff (the PyPI binary, a subprocess that concurrent snippets share) for
pyflakes' error rules.

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
import tempfile
import threading
import time
from pathlib import Path
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
    output = _ruff(source, context)
    found = _findings(output, context.defined_names) if output is not None else None
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


def _ruff(source: str, context: Context) -> bytes | None:
    """ruff's output (JSON lines), or None when it is missing, fails or runs out of time."""
    timeout = context.remaining()
    if ruff_binary() is None or timeout <= 0:
        return None
    return RUFF_RUNS.check(source, timeout)


# A snippet's file in a run of several: its output lines are told apart by this key (ruff writes its JSON
# keys in order, so `filename` comes before the message, the one field the code can put text in).
_FILENAME_KEY = b'"filename":"'


class _Job:
    __slots__ = ("deadline", "finished", "output", "source")

    def __init__(self, source: str, deadline: float) -> None:
        self.source = source
        self.deadline = deadline
        self.finished = False
        self.output: bytes | None = None


class RuffRuns:
    """Group commit for ruff's process: a snippet that arrives while a run is under way waits for the next
    one, which checks every snippet waiting by then as files of one process. The process is most of a
    check's cost (5 ms of CPU to start, a fraction of a millisecond a file), so concurrent answers share
    it; a snippet alone goes through standard input, as always. A waiter gives up at its own deadline (its
    check is then what ast says); a run lasts at most the longest budget among its snippets."""

    def __init__(self) -> None:
        self._ready = threading.Condition()
        self._waiting: list[_Job] = []
        self._running = False
        self.runs = 0  # processes started (for the tests)

    def check(self, source: str, timeout: float) -> bytes | None:
        job = _Job(source, time.monotonic() + timeout)
        with self._ready:
            self._waiting.append(job)
            while not job.finished:
                if not self._running:
                    self._lead()
                    continue
                remaining = job.deadline - time.monotonic()
                if remaining <= 0:
                    if job in self._waiting:
                        self._waiting.remove(job)
                    return None
                self._ready.wait(remaining)
        return job.output

    def _lead(self) -> None:
        """Run every waiting snippet (the lock held on entry and exit, released while ruff runs)."""
        batch, self._waiting = self._waiting, []
        self._running = True
        self.runs += 1
        outputs: list[bytes | None] = [None] * len(batch)
        self._ready.release()
        try:
            outputs = _run_ruff(batch)
        finally:
            self._ready.acquire()
            for job, output in zip(batch, outputs, strict=True):
                job.output, job.finished = output, True
            self._running = False
            self._ready.notify_all()


RUFF_RUNS = RuffRuns()


def _run_ruff(batch: list[_Job]) -> list[bytes | None]:
    """Each snippet's output lines; all None when ruff is missing, fails or runs out of time."""
    binary = ruff_binary()
    timeout = max(job.deadline for job in batch) - time.monotonic()
    if binary is None or timeout <= 0:
        return [None] * len(batch)
    # JSON lines, one finding a line, in the order of the code: a hostile answer can make ruff report tens of
    # thousands of findings, and only the first MAX_DIAGNOSTICS kept are ever parsed (_findings).
    command = [binary, "check", "--isolated", "--no-cache", "--quiet", "--output-format", "json-lines"]
    command += ["--target-version", RUFF_TARGET, "--select", RUFF_RULES]
    if len(batch) == 1:
        output = _run_ruff_process([*command, "--stdin-filename", "snippet.py", "-"], batch[0].source, timeout)
        return [output]
    with tempfile.TemporaryDirectory(prefix="codesmith-ruff-") as folder:
        names = [f"{index}.py" for index in range(len(batch))]
        for name, job in zip(names, batch, strict=True):
            # A lone surrogate becomes one "?", as on standard input: columns stay true.
            Path(folder, name).write_bytes(job.source.encode("utf-8", "replace"))
        output = _run_ruff_process([*command, "--", *names], None, timeout, cwd=folder)
    return [None] * len(batch) if output is None else _lines_by_file(output, names)


def _run_ruff_process(command: list[str], source: str | None, timeout: float, cwd: str | None = None) -> bytes | None:
    try:
        # Fixed arguments, no shell; a snippet only ever reaches ruff's standard input or a file of its own.
        run = subprocess.run(  # noqa: S603
            command,
            input=source.encode("utf-8", "replace") if source is not None else None,
            capture_output=True,
            timeout=timeout,
            check=False,
            cwd=cwd,
            env={"PATH": os.environ.get("PATH", ""), "NO_COLOR": "1"},
        )
    except (subprocess.TimeoutExpired, OSError) as error:
        logger.warning("ruff did not answer", extra={"error": type(error).__name__})
        return None
    if run.returncode not in (0, 1):
        logger.warning("ruff failed", extra={"returncode": run.returncode})
        return None
    return run.stdout


def _lines_by_file(output: bytes, names: list[str]) -> list[bytes | None]:
    """The output of one run over several files, split into each file's lines (in order); all None when a
    line names no file of the run."""
    lines: dict[str, list[bytes]] = {name: [] for name in names}
    for line in output.splitlines():
        _, key, rest = line.partition(_FILENAME_KEY)
        name = os.path.basename(rest.split(b'"', 1)[0].decode("utf-8", "replace"))
        if not key or name not in lines:
            logger.warning("ruff's output was not the JSON expected")
            return [None] * len(names)
        lines[name].append(line)
    return [b"\n".join(lines[name]) for name in names]


def _findings(output: bytes, defined_names: frozenset[str]) -> list[Diagnostic] | None:
    """The first MAX_DIAGNOSTICS findings that stand (an undefined name another snippet defines does not);
    None when the output is not what ruff writes."""
    kept: list[Diagnostic] = []
    try:
        for line in output.splitlines():
            found = _diagnostic(json.loads(line))
            if not _defined_elsewhere(found, defined_names):
                kept.append(found)
                if len(kept) == MAX_DIAGNOSTICS:
                    break
    except (ValueError, KeyError, TypeError):
        logger.warning("ruff's output was not the JSON expected")
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
