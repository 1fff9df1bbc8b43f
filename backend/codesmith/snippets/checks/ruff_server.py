"""ruff's language server, kept running: a Python snippet's check is a message to it, not a process.

Starting `ruff check` costs ~5 ms of CPU, most of a Python check; the server (`ruff server`, the same binary,
speaking the Language Server Protocol over its standard input and output) answers a snippet for ~0.3 ms.
One server per API process, started at the first check; each check opens the snippet as an untitled
document, asks for its diagnostics (LSP's pull model) and closes it. Every check has its own deadline: one
past it stops the server (a hung or crashed server never holds later checks), and the next check starts a
new one. What the server cannot answer (not started, stopped, an answer too large to parse on a thread that
shares the event loop's interpreter lock) is None, and the caller runs `ruff check` instead.

The framing (a Content-Length header, then JSON) is a few lines; LSP client libraries (pygls) are asyncio
programs with their own loop and types, while a check runs on a worker thread and needs four messages.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from typing import IO, Any

logger = logging.getLogger("codesmith.snippets.checks")

# A diagnostics answer above this is not parsed here (json.loads holds the interpreter lock: 4 MB, ten
# thousand findings, is ~55 ms); `ruff check`'s JSON lines are read only as far as needed instead.
MAX_ANSWER_BYTES = 256 * 1024
# After a failed start, checks use `ruff check` for this long before the server is tried again.
RETRY_START_SECONDS = 30.0
# Positions in code points, as `ruff check` reports columns (LSP's default is UTF-16 code units).
POSITION_ENCODING = "utf-32"

Message = dict[str, Any]


class _Answer:
    """A request's answer, filled in by the reader thread (body None: the server stopped first)."""

    __slots__ = ("arrived", "body", "too_large")

    def __init__(self) -> None:
        self.arrived = threading.Event()
        self.body: Message | None = None
        self.too_large = False


class _Connection:
    """One running server: its process, the writer's lock and the answers awaited by request id."""

    def __init__(self, process: subprocess.Popen[bytes], folder: str) -> None:
        self.process = process
        self.folder = folder
        self.write_lock = threading.Lock()
        self.awaited: dict[int, _Answer] = {}
        self.awaited_lock = threading.Lock()
        self.closed = False

    def expect(self, number: int) -> _Answer:
        answer = _Answer()
        with self.awaited_lock:
            if self.closed:
                answer.arrived.set()
            else:
                self.awaited[number] = answer
        return answer

    def forget(self, number: int) -> None:
        with self.awaited_lock:
            self.awaited.pop(number, None)

    def send(self, *messages: Message) -> None:
        data = b"".join(_frame(message) for message in messages)
        stdin = self.process.stdin
        assert stdin is not None
        with self.write_lock:
            stdin.write(data)
            stdin.flush()

    def deliver(self, number: int, body: bytes) -> None:
        with self.awaited_lock:
            answer = self.awaited.pop(number, None)
        if answer is None:
            return  # its check gave up
        if len(body) <= MAX_ANSWER_BYTES:
            answer.body = json.loads(body)
        else:
            answer.too_large = True
        answer.arrived.set()

    def close(self) -> None:
        """Stop the process and release every check still waiting (their answer: None)."""
        with self.awaited_lock:
            if self.closed:
                return
            self.closed = True
            waiting, self.awaited = list(self.awaited.values()), {}
        for answer in waiting:
            answer.arrived.set()
        if self.process.poll() is None:
            self.process.kill()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            logger.warning("ruff's server did not exit")
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):  # a write still buffered for a server that has exited
                    stream.close()
        shutil.rmtree(self.folder, ignore_errors=True)


class RuffServer:
    """The process's ruff server; `diagnostics` is safe to call from any number of threads."""

    def __init__(self, binary: Callable[[], str | None], settings: dict[str, Any]) -> None:
        self._binary = binary
        self._settings = settings
        self._lock = threading.Lock()
        self._connection: _Connection | None = None
        self._retry_at = 0.0
        self._ids = itertools.count(1)
        self.starts = 0  # servers started (for the tests)

    def diagnostics(self, source: str, timeout: float) -> list[Message] | None:
        """LSP diagnostics of `source` as a Python file; None when the server cannot answer in time."""
        deadline = time.monotonic() + timeout
        connection = self._connected(deadline)
        if connection is None:
            return None
        number = next(self._ids)
        uri = f"untitled:snippet-{number}.py"
        answer = connection.expect(number)
        try:
            connection.send(_opened(uri, source), _request(number, "textDocument/diagnostic", _document(uri)))
            answered = answer.arrived.wait(max(0.0, deadline - time.monotonic()))
            connection.send(_notice("textDocument/didClose", _document(uri)))
        except (OSError, ValueError):  # the pipe is closed: the server has exited
            answered = False
        if answer.too_large:
            return None
        if not answered or answer.body is None:
            connection.forget(number)
            self._stop(connection, "ruff's server did not answer in time" if not answered else None)
            return None
        return _items(answer.body)

    def close(self) -> None:
        with self._lock:
            connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()

    def _connected(self, deadline: float) -> _Connection | None:
        # While another check starts the server, wait for it no longer than this check's own deadline.
        if not self._lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
            return None
        try:
            if self._connection is not None and not self._connection.closed:
                return self._connection
            if time.monotonic() < self._retry_at:
                return None
            self._connection = self._start(deadline)
            if self._connection is None:
                self._retry_at = time.monotonic() + RETRY_START_SECONDS
            return self._connection
        finally:
            self._lock.release()

    def _stop(self, connection: _Connection, reason: str | None) -> None:
        with self._lock:
            if self._connection is connection:
                self._connection = None
        if reason and not connection.closed:
            logger.warning(reason)
        connection.close()

    def _start(self, deadline: float) -> _Connection | None:
        binary = self._binary()
        if binary is None:
            return None
        folder = tempfile.mkdtemp(prefix="codesmith-ruff-")  # an empty workspace: no settings file to find
        try:
            process = subprocess.Popen(  # noqa: S603 - fixed arguments, no shell
                [binary, "server"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                cwd=folder,
                env={"PATH": os.environ.get("PATH", ""), "NO_COLOR": "1"},
            )
        except OSError as error:
            shutil.rmtree(folder, ignore_errors=True)
            logger.warning("ruff's server did not start", extra={"error": type(error).__name__})
            return None
        self.starts += 1
        connection = _Connection(process, folder)
        threading.Thread(target=_read, args=(connection,), name="ruff-server-reader", daemon=True).start()
        if not self._initialize(connection, deadline):
            connection.close()
            return None
        return connection

    def _initialize(self, connection: _Connection, deadline: float) -> bool:
        number = next(self._ids)
        answer = connection.expect(number)
        params = {
            "processId": os.getpid(),
            "rootUri": None,
            "workspaceFolders": None,
            "capabilities": {
                "general": {"positionEncodings": [POSITION_ENCODING]},
                "textDocument": {"diagnostic": {"dynamicRegistration": False}},
            },
            "initializationOptions": {"settings": self._settings},
        }
        try:
            connection.send(_request(number, "initialize", params))
            if not answer.arrived.wait(max(0.0, deadline - time.monotonic())) or answer.body is None:
                logger.warning("ruff's server did not start in time")
                return False
            encoding = (answer.body.get("result") or {}).get("capabilities", {}).get("positionEncoding")
            if encoding != POSITION_ENCODING:
                logger.warning("ruff's server does not count columns in code points", extra={"error": encoding})
                return False
            connection.send(_notice("initialized", {}))
        except (OSError, ValueError, AttributeError):
            logger.warning("ruff's server did not start")
            return False
        return True


def _read(connection: _Connection) -> None:
    """The reader thread: answers go to the checks awaiting them; the server's own requests get a null
    result; anything else (its published diagnostics, its logs) is dropped. Ends when the server does."""
    stdout = connection.process.stdout
    assert stdout is not None
    try:
        while (length := _content_length(stdout)) is not None:
            body = stdout.read(length)
            if len(body) < length:
                break
            _dispatch(connection, body)
    except (OSError, ValueError):
        pass
    if not connection.closed:
        logger.warning("ruff's server exited", extra={"returncode": connection.process.poll()})
    connection.close()


def _dispatch(connection: _Connection, body: bytes) -> None:
    """Route one message by its first bytes (the server writes `jsonrpc`, then `id`, then `method` or the
    result), so that a large one is never parsed here."""
    head = body[:200]
    if b'"method"' in head:
        if b'"id"' in head:  # the server's own request (e.g. window/workDoneProgress/create)
            reply = {"jsonrpc": "2.0", "id": json.loads(body)["id"], "result": None}
            # Not from this thread: a check may hold the writer's lock, blocked on a full pipe that the
            # server drains only once its own writes to this thread are read.
            threading.Thread(target=_send_quietly, args=(connection, reply), daemon=True).start()
        return  # a notification: published diagnostics, a log line
    number = _answer_id(head)
    if number is not None:
        connection.deliver(number, body)


def _send_quietly(connection: _Connection, message: Message) -> None:
    with contextlib.suppress(OSError, ValueError):  # the server has exited; the reader sees it
        connection.send(message)


def _answer_id(head: bytes) -> int | None:
    start = head.find(b'"id":')
    if start < 0:
        return None
    digits = head[start + 5 :].lstrip().split(b",", 1)[0].split(b"}", 1)[0].strip()
    return int(digits) if digits.isdigit() else None


def _content_length(stream: IO[bytes]) -> int | None:
    length = None
    while True:
        line = stream.readline(1024)
        if not line:
            return None
        if line in (b"\r\n", b"\n"):
            return length
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())


def _items(body: Message) -> list[Message] | None:
    result = body.get("result")
    items = result.get("items") if isinstance(result, dict) else None
    return items if isinstance(items, list) else None  # None: an error answer (ruff reports panics this way)


def _frame(message: Message) -> bytes:
    body = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "replace")
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


def _request(number: int, method: str, params: Message) -> Message:
    return {"jsonrpc": "2.0", "id": number, "method": method, "params": params}


def _notice(method: str, params: Message) -> Message:
    return {"jsonrpc": "2.0", "method": method, "params": params}


def _document(uri: str) -> Message:
    return {"textDocument": {"uri": uri}}


def _opened(uri: str, source: str) -> Message:
    document = {"uri": uri, "languageId": "python", "version": 1, "text": source}
    return _notice("textDocument/didOpen", {"textDocument": document})
