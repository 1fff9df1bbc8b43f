"""Offline token estimates: conservative (they over-count), so a context check never lets too much through."""

from __future__ import annotations

import math
from collections.abc import Iterable

from codesmith.llm.types import ChatMessage

# Chat formats wrap each message in a few special tokens (role, separators).
PER_MESSAGE_OVERHEAD = 4
REPLY_PRIMER = 3
# BPE vocabularies average about 4 bytes of English or code per token; 3 over-counts on purpose.
BYTES_PER_TOKEN = 3


def estimate_text_tokens(text: str) -> int:
    return math.ceil(len(text.encode("utf-8")) / BYTES_PER_TOKEN)


def estimate_chat_tokens(messages: Iterable[ChatMessage]) -> int:
    return REPLY_PRIMER + sum(PER_MESSAGE_OVERHEAD + estimate_text_tokens(m["content"]) for m in messages)
