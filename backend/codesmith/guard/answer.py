"""The last layer: does a complete answer contain code at all?"""

from __future__ import annotations

import re

# An opening or closing fence: three or more backticks or tildes at the start of a line, after any
# indentation, blockquote markers or a list marker (models put code blocks inside list items).
_FENCE = re.compile(r"[ \t]*(?:>[ \t]*)*(?:(?:[-*+]|\d{1,9}[.)])[ \t]+)?(`{3,}|~{3,})(.*)")


def has_code_block(text: str) -> bool:
    """True when `text` has a fenced code block with some content (an unterminated last fence counts)."""
    if "```" not in text and "~~~" not in text:
        return False
    fence: str | None = None  # the fence of the block we are in, None outside blocks
    has_content = False
    for line in text.splitlines():
        match = _FENCE.match(line)
        if fence is None:
            if match and _opens_block(match.group(1), match.group(2)):
                fence, has_content = match.group(1), False
            continue
        if match and _closes_block(fence, match.group(1), match.group(2)):
            if has_content:
                return True
            fence = None
        elif line.strip():
            has_content = True
    return fence is not None and has_content


def _opens_block(fence: str, info: str) -> bool:
    # CommonMark: a backtick fence's info string cannot contain a backtick (```x``` is inline code).
    return not (fence[0] == "`" and "`" in info)


def _closes_block(opening: str, fence: str, rest: str) -> bool:
    return fence[0] == opening[0] and len(fence) >= len(opening) and not rest.strip()
