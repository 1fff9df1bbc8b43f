"""The last layer: does a complete answer contain code at all?"""

from __future__ import annotations

from codesmith.snippets.extract import fenced_blocks


def has_code_block(text: str) -> bool:
    """True when `text` has a fenced code block with some content (an unterminated last fence counts): a
    block that snippet extraction stores. One fence parser serves both (snippets/extract.py)."""
    if "```" not in text and "~~~" not in text:
        return False
    return any(code.strip() for _info, code in fenced_blocks(text))
