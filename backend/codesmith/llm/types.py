"""What the LLM client takes and yields: an endpoint, chat messages and stream events."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypedDict


class ChatMessage(TypedDict):
    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True, slots=True)
class Endpoint:
    """An OpenAI-compatible server and the model to ask there (only these differ between providers)."""

    base_url: str
    model: str
    api_key: str | None = None
    # User-registered servers are re-checked against SSRF at every connection (DNS rebinding).
    guarded: bool = False

    @property
    def root_url(self) -> str:
        """The server's root: vLLM's /tokenize lives beside the /v1 prefix, not under it."""
        base = self.base_url.rstrip("/")
        return base[: -len("/v1")] if base.endswith("/v1") else base

    def __repr__(self) -> str:  # never print the key
        return f"Endpoint(base_url={self.base_url!r}, model={self.model!r}, guarded={self.guarded})"


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int
    # True when the server reported no usage and the client counted it itself.
    estimated: bool = False


ChatEvent = TextDelta | Usage
