"""The first layer: clean a prompt or feedback message and check that it is neither empty nor too long."""

from __future__ import annotations

from codesmith.errors import PromptTooLong, ValidationFailed

# Control characters (Unicode category Cc) except newline and tab, plus invisible characters that
# hide text from a reader: zero-width spaces, the byte-order mark and bidirectional overrides
# ("Trojan Source"). Zero-width joiners stay: some scripts and emoji need them.
_INVISIBLE = "\u200b\u2060\ufeff\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_CONTROL = [*range(0x00, 0x20), *range(0x7F, 0xA0)]  # Unicode category Cc, all of it
_DROP: dict[int, None] = {
    **{code: None for code in _CONTROL if chr(code) not in "\n\t"},
    **{ord(char): None for char in _INVISIBLE},
}


def clean_prompt(text: str, *, max_chars: int, field: str = "prompt") -> str:
    """Return `text` without control characters; refuse it when empty or longer than `max_chars`."""
    # A carriage return ends a line: keep the break, not the character.
    cleaned = text.replace("\r\n", "\n").replace("\r", "\n").translate(_DROP)
    if not cleaned.strip():
        raise ValidationFailed(f"The {field} must not be empty.", loc=["body", field])
    if len(cleaned) > max_chars:
        raise PromptTooLong(f"The {field} is {len(cleaned)} characters long; the limit is {max_chars} characters.")
    return cleaned
