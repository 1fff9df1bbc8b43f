"""Processes of a benchmark run: free ports, servers in their own process groups, bench-only venvs."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = REPO_ROOT / "bench"
PROJECT_VENV = REPO_ROOT / ".venv"
STOP_TIMEOUT_S = 15.0
LOG_TAIL_CHARS = 3000

# The bench venv: the load generator's client, the plot and the profiler, never project dependencies.
BENCH_VENV = BENCH_DIR / ".venv-bench"
BENCH_PACKAGES = ["aiohttp==3.14.5", "uvloop==0.23.0", "matplotlib==3.11.2", "py-spy==0.4.3"]
# The peer: LiteLLM's proxy (1.108.x, the line the issue measured; 1.108.6+ pin extras the index lacks).
LITELLM_VENV = BENCH_DIR / ".venv-litellm"
LITELLM_PACKAGES = ["litellm[proxy]==1.108.5"]


class BenchError(RuntimeError):
    """A part of the benchmark cannot run (a server did not start, a venv cannot be built)."""


def say(line: str) -> None:
    print(f"[bench] {line}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    """Runs in the child before exec: a benchmark killed without cleanup leaves no server behind."""
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a child: no CODESMITH_* or venv variables leak in from the caller."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("CODESMITH_") and key not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")
    }
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


class Server:
    """A child process in its own process group, with its output in a log file."""

    def __init__(
        self, name: str, command: list[str], env: dict[str, str], log_dir: Path, *, cwd: Path = REPO_ROOT
    ) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=cwd,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-LOG_TAIL_CHARS:]
        except OSError as exc:
            return f"(no log: {exc})"

    def wait_http(self, url: str, timeout: float) -> None:
        """Until `url` answers 200; fails early when the process exits."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url, timeout=2.0).status_code == 200:
                    return
            time.sleep(0.2)
        raise BenchError(f"{self.name} did not answer {url} within {timeout:.0f} s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        group = os.getpgid(self.process.pid)
        os.killpg(group, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=STOP_TIMEOUT_S)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)
        self.process.wait()


@contextlib.contextmanager
def servers() -> Iterator[list[Server]]:
    """A list to append started servers to; all are stopped, newest first, on the way out."""
    started: list[Server] = []
    try:
        yield started
    finally:
        for server in reversed(started):
            server.stop()


@contextlib.contextmanager
def scratch_dir(prefix: str) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix=prefix) as name:
        yield Path(name)


def ensure_venv(venv: Path, packages: list[str]) -> Path:
    """A venv with exactly these pinned packages (a stamp records the set); returns its python."""
    python = venv / "bin" / "python"
    stamp = venv / ".bench-packages"
    wanted = "\n".join(packages)
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return python
    say(f"building {venv.relative_to(REPO_ROOT)} ({', '.join(packages)}), once")
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    result = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *packages],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        errors = [line for line in result.stderr.splitlines() if "is ignored" not in line]
        raise BenchError(f"pip could not build {venv.name}:\n" + "\n".join(errors[-15:]))
    stamp.write_text(wanted)
    return python
