"""What a checker returns: the check dict that Snippet.check stores and SnippetCheck serves."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from codesmith.snippets.schemas import UNCHECKED

Check = dict[str, Any]

# A failed check names its first problems; a repair prompt and a badge need no more.
MAX_DIAGNOSTICS = 20
MAX_MESSAGE_CHARS = 200


@dataclass(frozen=True, slots=True)
class Diagnostic:
    line: int  # 1-based
    column: int  # 1-based, in characters
    code: str | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "line": max(1, self.line),
            "column": max(1, self.column),
            "code": self.code[:40] if self.code else None,
            "message": short_message(self.message),
        }


@dataclass(frozen=True, slots=True)
class Context:
    """What a checker may know beyond the code: when it must give up (time.monotonic()), and the names the
    answer's other Python snippets define (a fragment may use them)."""

    deadline: float
    defined_names: frozenset[str] = frozenset()

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def expired(self) -> bool:
        return self.remaining() <= 0


def passed(checker: str) -> Check:
    return {"status": "passed", "checker": checker, "diagnostics": []}


def failed(checker: str, diagnostics: list[Diagnostic]) -> Check:
    ordered = sorted(diagnostics, key=lambda found: (found.line, found.column))[:MAX_DIAGNOSTICS]
    return {"status": "failed", "checker": checker, "diagnostics": [found.as_dict() for found in ordered]}


def verdict(checker: str, diagnostics: list[Diagnostic]) -> Check:
    return failed(checker, diagnostics) if diagnostics else passed(checker)


def unchecked() -> Check:
    return {**UNCHECKED, "diagnostics": []}


def short_message(text: str) -> str:
    """One line, printable, at most MAX_MESSAGE_CHARS: a parser's message may quote the snippet at length."""
    line = " ".join(text[: MAX_MESSAGE_CHARS * 2].split())
    line = "".join(char if char.isprintable() else "?" for char in line)
    return line if len(line) <= MAX_MESSAGE_CHARS else line[: MAX_MESSAGE_CHARS - 1] + "…"
