"""Concurrent Python checks share one ruff process (group commit), and each gets what it would alone."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from codesmith.snippets.checks import python
from codesmith.snippets.checks.python import RuffRuns, _Job, _lines_by_file, _run_ruff

SNIPPETS = [
    "def add(a, b):\n    return a + b\n",
    "print(undefined_thing)\n",
    "return 1\n",
    "def f(:\n    pass\n",
    "x = 1\nassert (x, 'tuple is always true')\n",
    "name = 'ünïcödé 🐍'\nprint(nme)\n",
    "",
    "for i in range(3):\n    pass\nbreak\n",
]


def test_ruff_is_installed_with_the_project() -> None:
    assert python.ruff_binary() is not None  # without it every check below would fall back to ast


def _alone(source: str) -> bytes | None:
    return _run_ruff([_Job(source, time.monotonic() + 5)])[0]


def test_one_run_over_several_files_gives_each_snippet_its_own_findings() -> None:
    together = _run_ruff([_Job(source, time.monotonic() + 5) for source in SNIPPETS])
    alone = [_alone(source) for source in SNIPPETS]
    # The same findings, file names aside (standard input is `snippet.py`; a run's files are numbered).
    assert [_findings(output) for output in together] == [_findings(output) for output in alone]
    assert _findings(together[1]) == [("F821", 1, 7)]
    assert _findings(together[0]) == []


def test_concurrent_checks_share_processes_and_get_what_they_would_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    runs = RuffRuns()
    first_run: list[int] = []

    def run_when_the_others_wait(batch: list[_Job]) -> list[bytes | None]:
        if not first_run:  # the first run lasts until every other snippet has arrived and waits
            first_run.append(len(batch))
            deadline = time.monotonic() + 5
            while len(runs._waiting) < len(SNIPPETS) - len(batch) and time.monotonic() < deadline:
                time.sleep(0.01)
        return _run_ruff(batch)

    monkeypatch.setattr(python, "_run_ruff", run_when_the_others_wait)
    with ThreadPoolExecutor(len(SNIPPETS)) as pool:
        results = list(pool.map(lambda source: runs.check(source, 5.0), SNIPPETS))
    assert [_findings(output) for output in results] == [_findings(_alone(source)) for source in SNIPPETS]
    assert runs.runs == 2  # the first run, then every snippet that waited for it, together


def test_a_waiter_gives_up_at_its_own_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    under_way = threading.Event()

    def slow(batch: list[_Job]) -> list[bytes | None]:
        under_way.set()
        time.sleep(0.6)
        return [b""] * len(batch)

    monkeypatch.setattr(python, "_run_ruff", slow)
    runs = RuffRuns()
    first = threading.Thread(target=runs.check, args=("x = 1\n", 5.0))
    first.start()
    assert under_way.wait(5)
    started = time.monotonic()
    assert runs.check("y = 2\n", 0.2) is None  # what ast says stands
    assert time.monotonic() - started < 0.45
    first.join()


def test_output_naming_no_file_of_the_run_is_not_believed() -> None:
    line = b'{"cell":null,"code":"F821","filename":"/elsewhere/9.py","message":"Undefined name `x`"}'
    assert _lines_by_file(line, ["0.py", "1.py"]) == [None, None]
    assert _lines_by_file(b"not json at all", ["0.py"]) == [None]


def _findings(output: bytes | None) -> list[tuple[str, int, int]] | None:
    if output is None:
        return None
    found = [json.loads(line) for line in output.splitlines()]
    return [(item["code"] or "E999", item["location"]["row"], item["location"]["column"]) for item in found]
