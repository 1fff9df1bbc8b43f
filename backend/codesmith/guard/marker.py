"""Detect the model's refusal marker (`NOT_CODE: <reason>`) at the start of a streamed answer.

The gate holds back the first characters of a stream until it knows whether the answer starts with
the marker; nothing of a refused answer ever leaves it. Once it knows, text passes straight through.
"""

from __future__ import annotations

MARKER = "NOT_CODE:"

# A refusal reason is one line; a model that rambles on without a newline is cut off here.
MAX_REASON_CHARS = 500


class MarkerGate:
    """Feed it each upstream text delta; emit what `feed` and `finish` return."""

    __slots__ = ("_held", "_open", "_reason", "_reason_text", "_refused")

    def __init__(self) -> None:
        self._open = False  # decided and not refused: the hot path checks only this
        self._refused = False
        self._held = ""
        self._reason_text = ""
        self._reason: str | None = None

    @property
    def decided(self) -> bool:
        return self._open or self._refused

    @property
    def refused(self) -> bool:
        return self._refused

    @property
    def reason(self) -> str | None:
        """The text after the marker on its line, once that line is complete or the stream has ended."""
        return self._reason

    def feed(self, text: str) -> str:
        """Take one delta; return the text that is safe to emit now ("" while undecided or refused)."""
        if self._open:
            return text
        if self._refused:
            self._collect_reason(text)
            return ""
        return self._decide(self._held + text)

    def finish(self) -> str:
        """End of stream: return what is still held back, unless the answer is a refusal."""
        if self._refused:
            self._end_reason()
            return ""
        held, self._held = self._held, ""
        # A stream that ends before the marker is complete (for instance "NOT_") is not a refusal.
        self._open = True
        return held

    def _decide(self, held: str) -> str:
        start = held.lstrip()
        if start.startswith(MARKER):
            self._refused = True
            self._held = ""
            self._collect_reason(start[len(MARKER) :])
            return ""
        if MARKER.startswith(start):  # only whitespace, or a prefix of the marker so far
            self._held = held
            return ""
        self._open = True
        self._held = ""
        return held

    def _collect_reason(self, text: str) -> None:
        if self._reason is not None:
            return
        self._reason_text += text
        if "\n" in self._reason_text or len(self._reason_text) >= MAX_REASON_CHARS:
            self._end_reason()

    def _end_reason(self) -> None:
        if self._reason is None:
            line = self._reason_text.split("\n", 1)[0]
            self._reason = line[:MAX_REASON_CHARS].strip()
            self._reason_text = ""
