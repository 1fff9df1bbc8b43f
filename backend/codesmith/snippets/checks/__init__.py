"""Snippet checks: does a snippet's code parse (and, for Python, name only what exists)?

`check_code` is the registry: a pure function from a language and code to the check dict that Snippet.check
stores. `check_off_the_loop` checks an answer's snippets in a worker thread within one time budget.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Sequence
from functools import partial

from codesmith.snippets.checks.data import check_json, check_sql, check_toml, check_yaml
from codesmith.snippets.checks.grammars import GRAMMARS, check_with_grammar
from codesmith.snippets.checks.python import check_python, defined_names
from codesmith.snippets.checks.result import Check, Context, unchecked
from codesmith.snippets.extract import ExtractedSnippet

__all__ = ["CHECKERS", "Check", "Context", "check_code", "check_off_the_loop", "check_snippets", "failures"]

# One snippet may take this long (a 300-line snippet takes milliseconds); past it, it is unchecked.
SNIPPET_BUDGET_SECONDS = 1.0
# All of an answer's snippets together: past it, the ones left are unchecked.
ANSWER_BUDGET_SECONDS = 2.0
# Longer code is not checked at all: every checker is linear, but not all of them can be stopped.
MAX_CHECKED_CHARS = 200_000

Checker = Callable[[str, Context], Check]

CHECKERS: dict[str, Checker] = {
    "python": check_python,
    **{language: partial(check_with_grammar, language) for language in GRAMMARS},
    "json": check_json,
    "yaml": check_yaml,
    "toml": check_toml,
    "sql": check_sql,
}

logger = logging.getLogger("codesmith.snippets.checks")


def check_code(language: str | None, code: str, context: Context | None = None) -> Check:
    """The check of one snippet; `unchecked` for a language without a checker, for code over the size cap,
    past the deadline, and whenever a checker fails in any way (model output is untrusted input)."""
    checker = CHECKERS.get(language or "")
    if checker is None or len(code) > MAX_CHECKED_CHARS:
        return unchecked()
    context = context or Context(deadline=time.monotonic() + SNIPPET_BUDGET_SECONDS)
    if context.expired():
        return unchecked()
    try:
        return checker(code, context)
    except Exception as error:  # RecursionError and MemoryError included: a check never breaks storing an answer
        # No traceback: a RecursionError's is thousands of lines, and the code is the model's, not ours.
        logger.warning(
            "a checker failed", extra={"language": language, "chars": len(code), "error": type(error).__name__}
        )
        return unchecked()


def check_snippets(
    snippets: Sequence[ExtractedSnippet], deadline: float, stop: threading.Event | None = None
) -> list[Check]:
    """Every snippet's check, in order, until the deadline (or `stop`): the ones left are unchecked."""
    names = [defined_names(found.code) if _python(found) else frozenset() for found in snippets]
    checks: list[Check] = []
    for position, found in enumerate(snippets):
        if (stop is not None and stop.is_set()) or time.monotonic() >= deadline:
            break
        others = frozenset().union(*names[:position], *names[position + 1 :]) if _python(found) else frozenset()
        snippet_deadline = min(deadline, time.monotonic() + SNIPPET_BUDGET_SECONDS)
        checks.append(check_code(found.language, found.code, Context(snippet_deadline, others)))
    return checks + [unchecked() for _ in snippets[len(checks) :]]


async def check_off_the_loop(
    snippets: Sequence[ExtractedSnippet], budget: float = ANSWER_BUDGET_SECONDS
) -> list[Check]:
    """An answer's checks, computed in a worker thread (the event loop serves every other stream meanwhile)
    within `budget` seconds."""
    if not any(found.language in CHECKERS for found in snippets):
        return [unchecked() for _ in snippets]
    stop = threading.Event()
    deadline = time.monotonic() + budget
    try:
        # The checkers watch the deadline themselves; this timeout is the backstop for one that does not.
        async with asyncio.timeout(budget + 0.5):
            return await asyncio.to_thread(check_snippets, snippets, deadline, stop)
    except TimeoutError:
        stop.set()  # the thread cannot be stopped mid-check; it stops at the next snippet
        logger.warning("snippet checks ran out of time", extra={"snippets": len(snippets)})
        return [unchecked() for _ in snippets]


def failures(checks: Sequence[Check | None]) -> list[int]:
    """Positions of the failed checks (stored checks may be None: never checked)."""
    return [position for position, check in enumerate(checks) if check and check.get("status") == "failed"]


def _python(found: ExtractedSnippet) -> bool:
    return found.language == "python"
