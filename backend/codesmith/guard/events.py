"""Structured refusal events: one log line and one metric increment per refused request."""

from __future__ import annotations

import logging

from codesmith.metrics import REFUSALS

logger = logging.getLogger("codesmith.guard")

# A model-written reason can be long; a log line should stay one short line.
MAX_REASON_CHARS = 200


def record_refusal(user_id: str, layer: str, reason: str) -> None:
    """Log a refusal (who, which layer, why; never the prompt) and count it in /metrics.

    `layer` is one of "input", "local", "model" or "answer".
    """
    REFUSALS.labels(layer=layer).inc()
    logger.info(
        "request refused",
        extra={
            "event": "guard_refusal",
            "user_id": user_id,
            "layer": layer,
            "reason": reason[:MAX_REASON_CHARS],
        },
    )
