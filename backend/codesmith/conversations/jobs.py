"""What a generation's runner is given (a Job) and what it ends with (an Outcome)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from codesmith.conversations.prompt import Context
from codesmith.llm.types import Usage
from codesmith.models.service import ResolvedModel
from codesmith.usage.limits import Reservation


@dataclass(frozen=True, slots=True)
class Job:
    """Everything the generation's task needs; it outlives the request that made it."""

    message_id: str
    conversation_id: str
    user_id: str
    model: ResolvedModel
    context: Context
    reservation: Reservation | None
    # False: nothing of it is stored but its usage (the OpenAI-compatible API's `"store": false`).
    store: bool = True
    # Sampling parameters passed on to the upstream as they are (temperature, top_p, stop, seed...).
    options: Mapping[str, Any] | None = None
    # True: when its answer completes with code that fails its check, it is repaired once (repair.py).
    repairable: bool = False
    # Seconds between the deltas of its stream, fixed (the OpenAI-compatible API's); None: the replica's
    # load-adaptive pacing (runner.coalesce_seconds).
    min_interval: float | None = None


@dataclass(slots=True)
class Outcome:
    status: str  # a final MessageStatus
    error_code: str | None = None
    error_detail: str | None = None
    usage: Usage | None = None
    content: str | None = None  # None: the text the subscribers got
