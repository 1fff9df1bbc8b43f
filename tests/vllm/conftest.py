"""The real-vLLM tier: one vLLM CPU server on a tiny random model, shared by the whole test session."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.vllm.server import VllmServer, VllmUnavailable, start, stop

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything in tests/vllm, and any test using the server, carries the `vllm` marker."""
    for item in items:
        if HERE in item.path.parents or "vllm_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.vllm)


def start_or_fail(log_dir: Path) -> tuple[VllmServer, subprocess.Popen[bytes]]:
    failure = ""
    try:
        return start(log_dir)
    except VllmUnavailable as exc:
        failure = str(exc)
    # Failing outside the except block reports the reason once, without a chained traceback.
    pytest.fail(failure, pytrace=False)


@pytest.fixture(scope="session")
def vllm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VllmServer]:
    """A running vLLM OpenAI-compatible server (~1 min to start, ~3 GB RAM); stopped at session end.

    Its log is `vllm-server.log` in pytest's temp folder (`server.log_path`; the tail is shown on start failure).
    """
    server, process = start_or_fail(tmp_path_factory.mktemp("vllm"))
    try:
        yield server
    finally:
        stop(process)
