"""One conversation as a Markdown document: the prompts quoted, each answer with its code, versions marked."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from codesmith.conversations.tables import Message, MessageKind, MessageStatus, Role

_SLUG_UNSAFE = re.compile(r"[^a-z0-9]+")
MAX_SLUG = 80


def slug(title: str) -> str:
    """A file name stem from the title ("Reverse words!" -> "reverse-words"); `conversation` when none is left."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower()
    cleaned = _SLUG_UNSAFE.sub("-", ascii_title).strip("-")
    return cleaned[:MAX_SLUG].rstrip("-") or "conversation"


def render(title: str, messages: Iterable[Message]) -> str:
    """The tree depth first, siblings oldest first; where a message has siblings (regenerated answers, edited
    prompts) each says which version it is."""
    ordered = sorted(messages, key=lambda m: (m.created_at, m.id))
    children: dict[str | None, list[Message]] = {}
    for message in ordered:
        children.setdefault(message.parent_id, []).append(message)
    known = {message.id for message in ordered}
    roots = [m for m in ordered if m.parent_id is None or m.parent_id not in known]
    parts = [f"# {_one_line(title)}\n"]
    # An explicit stack, not recursion: a long feedback chain is a deep tree.
    stack: list[tuple[Message, int, int]] = [(m, i + 1, len(roots)) for i, m in enumerate(roots)][::-1]
    while stack:
        message, number, of = stack.pop()
        parts.append(_section(message, number, of))
        below = children.get(message.id, [])
        stack.extend((child, i + 1, len(below)) for i, child in reversed(list(enumerate(below))))
    return "\n".join(parts)


def _section(message: Message, number: int, of: int) -> str:
    version = f" (Version {number} of {of})" if of > 1 else ""
    if message.role == Role.USER:
        heading = "Request" if message.kind == MessageKind.REQUEST else "Feedback"
        return f"## {heading}{version}\n\n{_quoted(message.content)}\n"
    lines = [f"## Answer{version}\n"]
    if message.status != MessageStatus.COMPLETE:
        reason = f": {_one_line(message.error_detail)}" if message.error_detail else ""
        lines.append(f"*{message.status}{reason}*\n")
    if message.content.strip():
        lines.append(message.content.rstrip() + "\n")
    return "\n".join(lines)


def _quoted(text: str) -> str:
    return "\n".join(f"> {line}".rstrip() for line in text.strip().splitlines()) or ">"


def _one_line(text: str) -> str:
    return " ".join(text.split())
