"""Prompt security: input checks, the local code-request check, the model's refusal marker, answer checks."""

from __future__ import annotations

from codesmith.guard.events import record_refusal

__all__ = ["record_refusal"]
