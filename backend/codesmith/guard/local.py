"""The local check: refuse plain non-code requests and injection attempts, with no network, in microseconds.

It must never refuse a genuine code request, so it refuses only what is clearly not one; whatever it
is unsure about goes through (the model's own check, guard/marker.py, is the next layer).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Literal

from codesmith.errors import NotACodeRequest
from codesmith.guard import patterns as p
from codesmith.guard.events import record_refusal
from codesmith.guard.lexicon import Signal, Text

Category = Literal["code", "unsure", "non_code", "injection"]

_OVERRIDE_REASON = "it asks Codesmith to ignore or replace its instructions"
_REVEAL_REASON = "it asks Codesmith to reveal its instructions"
_SPOOF_REASON = "it imitates system messages, Codesmith's own markers or a known jailbreak"
_ROLE_REASON = "it asks Codesmith to play a role or switch modes instead of writing code"
_HIDDEN_REASON = "it hides instructions in encoded or disguised text"

_STRONG: tuple[tuple[Signal, str], ...] = (
    (p.OVERRIDE, _OVERRIDE_REASON),
    (p.REVEAL, _REVEAL_REASON),
    (p.SPOOF, _SPOOF_REASON),
    (p.FORCED_MODE, _ROLE_REASON),
)
_MAX_BASE64_TOKENS = 3
_NOT_LETTERS = re.compile(r"[^a-z]+")

# A long prompt is mostly pasted material (code, logs, data); what it asks for is at its start or its
# end. Those are read in full; the middle is scanned for injection phrases only, which bounds the time.
HEAD_CHARS = 1500
TAIL_CHARS = 500
_WINDOW_CHARS = 300
_MAX_WINDOWS = 8


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    category: Category
    reason: str | None = None


_CODE = Verdict(allowed=True, category="code")
_UNSURE = Verdict(allowed=True, category="unsure")


def check(text: str) -> Verdict:
    """Classify a prompt: a code request or unsure (allowed), a non-code request or an injection (refused)."""
    middle = ""
    if len(text) > HEAD_CHARS + TAIL_CHARS:
        middle = text[HEAD_CHARS:-TAIL_CHARS]
        text = f"{text[:HEAD_CHARS]}\n{text[-TAIL_CHARS:]}"
    prepared = Text.of(text)
    has_syntax = p.SYNTAX.found_in(prepared) or "```" in middle or "~~~" in middle

    injection = _strong_injection(prepared, has_syntax) or _injection_in_middle(middle)
    if injection:
        return Verdict(allowed=False, category="injection", reason=injection)

    if not has_syntax and _is_creative_writing_about_code(prepared):
        return Verdict(allowed=False, category="non_code", reason=p.CREATIVE_REASON)
    if has_syntax or p.BUILD.found_in(prepared) or p.TECH.found_in(prepared):
        return _CODE
    if p.WEAK_INJECTION.found_in(prepared):
        return Verdict(allowed=False, category="injection", reason=_ROLE_REASON)
    for intent, reason in p.NON_CODE_INTENTS:
        if intent.found_in(prepared):
            return Verdict(allowed=False, category="non_code", reason=reason)
    return _UNSURE


def ensure_code_request(text: str, *, user_id: str) -> None:
    """Raise NotACodeRequest (and record the refusal) unless the local check lets `text` through."""
    verdict = check(text)
    if verdict.allowed:
        return
    reason = verdict.reason or "it does not look like a request for code"
    record_refusal(user_id, "local", f"{verdict.category}: {reason}")
    raise NotACodeRequest(
        f"Codesmith only writes code, and this request was refused because {reason}. "
        "Describe the program, function, script or query you need and Codesmith will write it."
    )


def _strong_injection(text: Text, has_syntax: bool) -> str | None:
    """The reason when the text clearly tries to override or read the instructions, whatever else it says."""
    for signal, reason in _STRONG:
        for match in signal.matches(text):
            # A quoted phrase in a code request is data, not an instruction: "flag inputs like 'ignore
            # previous instructions'", or a system prompt in a string literal of pasted code.
            if match is None or not _is_quoted(match.string, match.start(), match.end()):
                return reason
            if not (has_syntax or p.BUILD.found_in(text) or p.TECH.found_in(text)):
                return reason
    if _is_obfuscated(text) and p.FOLDED_INJECTION.search(_fold(text.lower)):
        return _HIDDEN_REASON
    if _hidden_in_base64(text.original):
        return _HIDDEN_REASON
    return None


def _injection_in_middle(middle: str) -> str | None:
    """Run the strong checks on a window around each suspect fragment in the middle of a long prompt."""
    lower = middle.lower()
    for start in _suspect_positions(lower):
        window = Text.of(middle[max(0, start - _WINDOW_CHARS) : start + _WINDOW_CHARS])
        reason = _strong_injection(window, p.SYNTAX.found_in(window))
        if reason:
            return reason
    # Base64 in pasted material is common (keys, images); look inside only when the text talks about it.
    if any(word in lower for word in ("base64", "b64", "decode", "encoded")) and _hidden_in_base64(middle):
        return _HIDDEN_REASON
    return None


def _suspect_positions(lower: str) -> list[int]:
    positions: list[int] = []
    for fragment in p.SUSPECT_FRAGMENTS:
        found = lower.find(fragment)
        while found >= 0 and len(positions) < _MAX_WINDOWS:
            positions.append(found)
            found = lower.find(fragment, found + _WINDOW_CHARS)
    return positions


def _is_creative_writing_about_code(text: Text) -> bool:
    """ "A poem about python programming" names code as its topic; "a poem generator" or "a poem about
    sorting, in rust" asks for code."""
    return (
        p.CREATIVE_ABOUT.found_in(text)
        and p.ARTIFACT.search(text.lower) is None
        and p.LANGUAGE_IN.search(text.lower) is None
    )


_QUOTE_PAIRS = (('"', '"'), ("`", "`"), ("“", "”"), ("«", "»"), ("'", "'"))


def _is_quoted(text: str, start: int, end: int) -> bool:
    """Whether text[start:end] lies between a pair of quotes on its line."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    before = text[line_start:start]
    after = text[end : line_end if line_end >= 0 else len(text)]
    for opening, closing in _QUOTE_PAIRS:
        opened = before.rfind(opening)
        if opened < 0 or closing not in after:
            continue
        if opening == "'" and opened > 0 and before[opened - 1].isalnum():
            continue  # an apostrophe ("don't"), not a quote
        if opening == closing and before.count(opening) % 2 == 0:
            continue
        if opening != closing and before.rfind(closing) > opened:
            continue
        return True
    return False


def _is_obfuscated(text: Text) -> bool:
    """Letters spaced out ("i g n o r e") or digits standing in for letters ("1gn0re")."""
    if sum(len(word) == 1 for word in text.words) >= 5:
        return True
    has_leet_characters = any(char in text.lower for char in "0134@$")
    return has_leet_characters and p.LEET_WORD.search(text.lower) is not None


def _fold(lower: str) -> str:
    """Undo the disguise: leet digits become letters, then everything but letters goes."""
    return _NOT_LETTERS.sub("", lower.translate(p.LEET))


def _hidden_in_base64(original: str) -> bool:
    for token in p.BASE64_TOKEN.findall(original)[:_MAX_BASE64_TOKENS]:
        decoded = _decode_base64_text(token)
        if decoded is None:
            continue
        hidden = Text.of(decoded)
        if any(signal.found_in(hidden) for signal, _ in _STRONG) or p.WEAK_INJECTION.found_in(hidden):
            return True
    return False


def _decode_base64_text(token: str) -> str | None:
    """The text a base64 token decodes to, or None when it is not base64 of readable text."""
    try:
        decoded = base64.b64decode(token + "=" * (-len(token) % 4), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    readable = sum(char.isprintable() or char.isspace() for char in decoded)
    return decoded if decoded and readable >= 0.95 * len(decoded) else None
