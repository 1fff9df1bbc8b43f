"""How many imports and exports run at once in this process: one per user, a few in all, so one account
cannot fill the memory with 50 MiB documents or the CPU with exports; the others are told to come back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from codesmith.errors import RateLimited

RETRY_AFTER_SECONDS = 5


class Gate:
    def __init__(self, what: str, total: int) -> None:
        self.what = what
        self.total = total
        self._users: set[str] = set()

    def acquire(self, user_id: str) -> Callable[[], None]:
        """The user's slot (429 when they hold one already or all are taken) and its release."""
        if user_id in self._users:
            raise RateLimited(f"Your previous {self.what} is still running.", retry_after=RETRY_AFTER_SECONDS)
        if len(self._users) >= self.total:
            raise RateLimited(f"Too many {self.what}s are running: try again shortly.", retry_after=RETRY_AFTER_SECONDS)
        self._users.add(user_id)
        return lambda: self._users.discard(user_id)


class ReleasingStream(StreamingResponse):
    """A streamed answer that gives its slot back however it ends: finished, failed, or the client gone
    (even before the first chunk, when the body's own `finally` would never run)."""

    def __init__(self, content: Any, release: Callable[[], None], **kwargs: Any) -> None:
        super().__init__(content, **kwargs)
        self._release = release

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._release()


# A 50 MiB document parses into several hundred MiB of objects: two at once per process.
imports = Gate("import", total=2)
exports = Gate("export", total=4)
