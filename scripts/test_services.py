"""Run a command with the servers the test suite needs: a throwaway PostgreSQL cluster and a throwaway Redis.

    python -m scripts.test_services -- pytest ...      (scripts/test-services.sh wraps this)

Each server listens on a free loopback port and is announced to the command in the environment:
  CODESMITH_TEST_POSTGRES_URL  postgresql+asyncpg://postgres@127.0.0.1:PORT/postgres (superuser, trust auth)
  CODESMITH_TEST_REDIS_URL     redis://127.0.0.1:PORT/0
A variable that is already set is respected (that server is not started). A missing binary is a warning
and its variable stays unset, unless CODESMITH_TEST_REQUIRE_SERVICES=1, which makes it an error. Both
servers are stopped, and their folders removed, however the command ends (also on Ctrl-C or SIGTERM).
Standard library only.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

if __package__ in (None, ""):  # run as a file: make `scripts` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scripts import postgres_cluster

POSTGRES_VAR = "CODESMITH_TEST_POSTGRES_URL"
REDIS_VAR = "CODESMITH_TEST_REDIS_URL"
REQUIRE_VAR = "CODESMITH_TEST_REQUIRE_SERVICES"
REDIS_START_TIMEOUT_S = 20


class ServiceUnavailable(RuntimeError):
    """A service cannot be started here (not installed, or it failed to start)."""


def say(line: str) -> None:
    print(f"[test-services] {line}", file=sys.stderr, flush=True)


def required() -> bool:
    return os.environ.get(REQUIRE_VAR, "") not in ("", "0", "false", "no")


@contextlib.contextmanager
def postgres() -> Iterator[str]:
    try:
        postgres_cluster.bin_dir()
    except postgres_cluster.ClusterError as exc:
        raise ServiceUnavailable(str(exc)) from None
    # Many small databases (one per test) come and go: keep their creation cheap.
    options = "-c max_connections=200 -c synchronous_commit=off -c shared_buffers=128MB"
    try:
        with postgres_cluster.throwaway(extra_options=options) as cluster:
            yield cluster.admin_url
    except postgres_cluster.ClusterError as exc:
        raise ServiceUnavailable(str(exc)) from None


@contextlib.contextmanager
def redis() -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise ServiceUnavailable("redis-server is not installed (Debian: apt-get install -y redis-server)")
    port = postgres_cluster.free_port()
    with tempfile.TemporaryDirectory(prefix="codesmith-redis-") as folder:
        log = Path(folder) / "redis.log"
        command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        command += ["--dir", folder, "--logfile", str(log)]
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, cwd=folder)
        try:
            _wait_for_redis(port, process, log)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_for_redis(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + REDIS_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-1500:] if log.exists() else ""
            raise ServiceUnavailable(f"redis-server exited with {process.returncode}: {tail}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            if sock.recv(64).startswith(b"+PONG"):
                return
        time.sleep(0.1)
    raise ServiceUnavailable("redis-server did not answer PING")


def _terminate_on_signals() -> None:
    """SIGTERM and SIGHUP unwind like Ctrl-C does, so every `finally` stops its server."""

    def interrupt(signum: int, _: FrameType | None) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, interrupt)


def main(argv: list[str] | None = None) -> int:
    command = list(sys.argv[1:] if argv is None else argv)
    if command[:1] == ["--"]:
        command = command[1:]
    if not command or command[0] in ("-h", "--help"):
        print(__doc__, file=sys.stderr)
        return 0 if command else 2
    _terminate_on_signals()
    env = dict(os.environ)
    with contextlib.ExitStack() as stack:
        for variable, start in ((POSTGRES_VAR, postgres), (REDIS_VAR, redis)):
            if env.get(variable):
                say(f"{variable} is set already: using {env[variable]}")
                continue
            try:
                env[variable] = stack.enter_context(start())
            except ServiceUnavailable as exc:
                if required():
                    say(f"error: {exc} ({REQUIRE_VAR}=1)")
                    return 2
                say(f"warning: {exc}; {variable} stays unset and the tests that need it are skipped")
                continue
            say(f"{variable}={env[variable]}")
        child = subprocess.Popen(command, env=env)
        try:
            return child.wait()
        except KeyboardInterrupt:
            child.send_signal(signal.SIGINT)
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
            return 130


if __name__ == "__main__":
    sys.exit(main())
