"""Fixtures for the guard tests: the refusal log and the refusal counter."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import pytest
from prometheus_client import REGISTRY


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def guard_log() -> Iterator[list[logging.LogRecord]]:
    """Records logged by "codesmith.guard", whatever the app's logging configuration (which may stop
    propagation to the root logger, where caplog listens)."""
    logger = logging.getLogger("codesmith.guard")
    handler = _Collect()
    previous_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield handler.records
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous_level)


@pytest.fixture
def refusals() -> Callable[[str], float]:
    """The current value of the refusal counter for a layer."""

    def value(layer: str) -> float:
        return REGISTRY.get_sample_value("codesmith_refusals_total", {"layer": layer}) or 0.0

    return value
