"""Python checks go to one long-lived `ruff server`: it finds what `ruff check` finds, serves concurrent checks,
and a server that exits, hangs or answers too much never costs a check its verdict or its deadline."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from codesmith.snippets.checks import check_code, python
from codesmith.snippets.checks.result import Diagnostic
from codesmith.snippets.checks.ruff_server import RuffServer

SNIPPETS = [
    "def add(a, b):\n    return a + b\n",
    "print(undefined_thing)\n",
    "return 1\n",
    "def f(:\n    pass\n",
    "x = 1\nassert (x, 'tuple is always true')\nif x is 'a':\n    pass\n",
    "name = 'ünïcödé 🐍'; print(nme, 𐐀x)\n",  # columns count code points, not UTF-16 units or bytes
    'x = "\ud800"; print(y)\n',  # a lone surrogate
    "type Pair[T] = tuple[T, T]\n",  # syntax newer than this Python
    "",
    "for i in range(3):\n    pass\nbreak\n",
]

# A language server that starts and then never answers a request for diagnostics.
SILENT_SERVER = """
import json, sys
while True:
    length = None
    while (line := sys.stdin.buffer.readline()) not in (b"\\r\\n", b""):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    if length is None:
        break
    message = json.loads(sys.stdin.buffer.read(length))
    if message.get("method") == "initialize":
        body = json.dumps({"jsonrpc": "2.0", "id": message["id"],
                           "result": {"capabilities": {"positionEncoding": "utf-32"}}}).encode()
        sys.stdout.buffer.write(b"Content-Length: %d\\r\\n\\r\\n%s" % (len(body), body))
        sys.stdout.buffer.flush()
"""


@pytest.fixture
def server() -> Iterator[RuffServer]:
    started = RuffServer(python.ruff_binary, python.SERVER_SETTINGS)
    yield started
    started.close()


def _a_program(tmp_path: Path, source: str) -> str:
    program = tmp_path / "fake-ruff"
    program.write_text(f"#!{sys.executable}\n{source}")
    program.chmod(0o755)
    return str(program)


def _from_server(server: RuffServer, source: str) -> list[Diagnostic] | None:
    items = server.diagnostics(source, 5.0)
    return None if items is None else python._server_findings(items, frozenset())


def _from_ruff_check(source: str) -> list[Diagnostic] | None:
    output = python._ruff_check(source, 5.0)
    return None if output is None else python._findings(output, frozenset())


def test_ruff_is_installed_with_the_project() -> None:
    assert python.ruff_binary() is not None  # without it every check below would fall back to ast


def test_the_server_finds_what_ruff_check_finds(server: RuffServer) -> None:
    for source in SNIPPETS:
        assert _from_server(server, source) == _from_ruff_check(source), source
    assert [(d.line, d.column, d.code) for d in _from_server(server, SNIPPETS[5]) or []] == [
        (1, 27, "F821"),
        (1, 32, "F821"),
    ]
    assert server.starts == 1


def test_one_server_answers_concurrent_checks(server: RuffServer) -> None:
    alone = [_from_server(server, source) for source in SNIPPETS]
    with ThreadPoolExecutor(8) as pool:
        together = list(pool.map(lambda source: _from_server(server, source), SNIPPETS * 5))
    assert together == alone * 5
    assert server.starts == 1


def test_a_server_that_exits_is_replaced_at_the_next_check(server: RuffServer) -> None:
    assert _from_server(server, SNIPPETS[1])
    connection = server._connection
    assert connection is not None
    connection.process.kill()
    connection.process.wait()
    time.sleep(0.2)  # the reader sees the end of its output
    assert [d.code for d in _from_server(server, SNIPPETS[1]) or []] == ["F821"]
    assert server.starts == 2


def test_a_server_that_does_not_answer_is_stopped_at_the_checks_deadline(tmp_path: Path) -> None:
    server = RuffServer(lambda: _a_program(tmp_path, SILENT_SERVER), python.SERVER_SETTINGS)
    try:
        started = time.monotonic()
        assert server.diagnostics("print(x)\n", 0.5) is None
        assert time.monotonic() - started < 1.5
        assert server.starts == 1 and server._connection is None  # stopped: the next check starts another
    finally:
        server.close()


def test_a_server_that_never_starts_is_not_tried_at_every_check(tmp_path: Path) -> None:
    server = RuffServer(lambda: _a_program(tmp_path, "import time; time.sleep(60)"), python.SERVER_SETTINGS)
    try:
        assert server.diagnostics("print(x)\n", 0.3) is None
        started = time.monotonic()
        assert server.diagnostics("print(x)\n", 0.3) is None
        assert time.monotonic() - started < 0.1  # no second start until RETRY_START_SECONDS have passed
        assert server.starts == 1
    finally:
        server.close()


def test_an_answer_too_large_to_parse_is_left_to_ruff_check(server: RuffServer) -> None:
    heredocs = "cat <<EOF\n" * 5_000  # 10,000 undefined names: megabytes of diagnostics
    assert server.diagnostics(heredocs, 5.0) is None
    assert _from_server(server, SNIPPETS[1])  # the server still serves the next check
    assert server.starts == 1
    check = check_code("python", heredocs)
    assert (check["status"], check["checker"], len(check["diagnostics"])) == ("failed", "ruff", 20)


def test_checks_use_ruff_check_while_no_server_can_answer(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    silent = RuffServer(lambda: _a_program(tmp_path, "import time; time.sleep(60)"), python.SERVER_SETTINGS)
    monkeypatch.setattr(python, "RUFF_SERVER", silent)
    try:
        silent.diagnostics("", 0.2)  # its start fails: checks do not wait for it for a while
        check = check_code("python", "print(missing)\n")
        assert (check["status"], check["checker"]) == ("failed", "ruff")
        assert [d["message"] for d in check["diagnostics"]] == ["Undefined name `missing`"]
    finally:
        silent.close()


def test_a_check_waits_for_another_checks_start_of_the_server_no_longer_than_its_own_deadline(
    tmp_path: Path,
) -> None:
    server = RuffServer(lambda: _a_program(tmp_path, "import time; time.sleep(60)"), python.SERVER_SETTINGS)
    try:
        with ThreadPoolExecutor(1) as pool:
            starting = pool.submit(server.diagnostics, "print(x)\n", 1.5)  # its start never finishes
            time.sleep(0.2)
            started = time.monotonic()
            assert server.diagnostics("print(y)\n", 0.2) is None
            assert time.monotonic() - started < 0.5
            assert starting.result() is None
    finally:
        server.close()
