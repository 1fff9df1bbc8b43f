"""What an import will write, already checked: conversations with their message trees and snippets, and the
tree checks that every source format shares."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from codesmith.errors import ValidationFailed
from codesmith.snippets.extract import ExtractedSnippet
from codesmith.yourdata.schemas import ImportProblem

# Problems listed in one 422 (the first ones: a broken document usually repeats one mistake).
MAX_LISTED_ERRORS = 50
Loc = list[str | int]


class DocumentInvalid(ValidationFailed):
    """The document as a whole is refused: every problem found (up to a bound), each with where it is."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        first = errors[0]
        where = ".".join(str(part) for part in first["loc"])
        super().__init__(f"The document is not valid ({len(errors)} problem(s)); {where}: {first['msg']}")
        self.errors = errors[:MAX_LISTED_ERRORS]


# -- the plan: what will be written, already checked ------------------------------------------------------
@dataclass(slots=True)
class PlannedSnippet:
    language: str | None
    title: str
    code: str
    created_at: datetime


@dataclass(slots=True)
class PlannedMessage:
    key: str  # its id in the document (it gets a new one)
    parent_key: str | None
    role: str
    kind: str
    content: str
    status: str
    created_at: datetime
    completed_at: datetime | None
    error_code: str | None = None
    error_detail: str | None = None
    model_id: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost_usd: float | None = None
    snippets: list[PlannedSnippet] = field(default_factory=list)


@dataclass(slots=True)
class PlannedConversation:
    import_key: str
    title: str
    created_at: datetime
    updated_at: datetime
    messages: list[PlannedMessage]  # every parent before its children
    model_id: str | None = None
    language: str | None = None


@dataclass(slots=True)
class Plan:
    conversations: list[PlannedConversation] = field(default_factory=list)
    problems: list[ImportProblem] = field(default_factory=list)


def broken_links(parents: dict[str, str | None]) -> tuple[list[str], list[str]]:
    """The nodes whose parent is missing, and one node of each cycle (walked iteratively: trees are deep)."""
    missing = [node for node, parent in parents.items() if parent is not None and parent not in parents]
    state: dict[str, int] = {}  # 1: on the walk being made, 2: known to reach a root
    in_cycle: list[str] = []
    for start in parents:
        walk: list[str] = []
        node: str | None = start
        while node is not None and node in parents and node not in state:
            state[node] = 1
            walk.append(node)
            node = parents[node]
        if node is not None and state.get(node) == 1:
            in_cycle.append(node)
        for visited in walk:
            state[visited] = 2
    return missing, in_cycle


def parents_first(keys: Iterable[str], parents: dict[str, str | None]) -> list[str]:
    """`keys` ordered so that a parent always comes before its children (stable otherwise); no cycles."""
    depth: dict[str, int] = {}
    for key in parents:
        chain: list[str] = []
        node: str | None = key
        while node is not None and node not in depth:
            chain.append(node)
            node = parents.get(node)
        base = depth[node] if node is not None else -1
        for offset, member in enumerate(reversed(chain), start=1):
            depth[member] = base + offset
    ordered = list(keys)
    return sorted(ordered, key=lambda key: depth[key])


def snippets_of(extracted: list[ExtractedSnippet], stamp: datetime) -> list[PlannedSnippet]:
    """As the app stores an answer's blocks: a microsecond apart, earlier blocks newest."""
    last = len(extracted) - 1
    return [
        PlannedSnippet(found.language, found.title, found.code, stamp + timedelta(microseconds=last - position))
        for position, found in enumerate(extracted)
    ]


def raise_if_any(errors: list[dict[str, Any]]) -> None:
    if errors:
        raise DocumentInvalid(errors)
