"""Streaming overhead: the same streams straight at the upstream, through Codesmith and through LiteLLM.

Four processes: the bench upstream, Codesmith (`codesmith serve`, one worker, a temp SQLite database,
the upstream as its vLLM server), the LiteLLM proxy when its venv can be built, and the load generator.
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench import procs
from bench.stats import percentile, ratio
from bench.upstream import MODEL

BENCH_USERS = 20
PASSWORD = "bench-password-1"
MODEL_WAIT_S = 30.0
LOADGEN_TIMEOUT_S = 1800
TARGET_ORDER = ("direct", "codesmith", "litellm")


@dataclass(frozen=True)
class Level:
    concurrency: int
    per_stream: int  # requests each stream sends back to back


@dataclass(frozen=True)
class Sweep:
    delay_ms: float
    levels: tuple[Level, ...]
    rounds: int
    targets: tuple[str, ...] | None = None  # None: every target


def sweeps(quick: bool, concurrencies: list[int]) -> list[Sweep]:
    """Full: 5 ms between tokens at every level (two rounds of the cheap ones) for every target, then
    20 ms at every level for direct and Codesmith (LiteLLM at 20 ms would add minutes and no target).
    Quick: one round at 5 ms, and the largest level at 20 ms."""
    without_peer = ("direct", "codesmith")
    if quick:
        five = tuple(Level(c, 3 if c == 1 else 1) for c in concurrencies)
        return [Sweep(5, five, 1), Sweep(20, (Level(max(concurrencies), 1),), 1, without_peer)]
    cheap = [c for c in concurrencies if c <= 20]
    heavy = [c for c in concurrencies if c > 20]
    return [
        Sweep(5, tuple(Level(c, 3 if c == 1 else 1) for c in cheap), 2),
        Sweep(5, tuple(Level(c, 1) for c in heavy), 1),
        Sweep(20, tuple(Level(c, 1) for c in concurrencies), 1, without_peer),
    ]


# -- the servers ------------------------------------------------------------------------------------
def start_upstream(running: list[procs.Server], log_dir: Path) -> tuple[str, int]:
    port = procs.free_port()
    python = str(procs.PROJECT_VENV / "bin" / "python")
    upstream = procs.Server(
        "upstream", [python, "-m", "bench.upstream", "--port", str(port)], procs.clean_env(), log_dir
    )
    running.append(upstream)
    root = f"http://127.0.0.1:{port}"
    upstream.wait_http(f"{root}/health", timeout=20)
    return root, upstream.pid


def codesmith_env(workdir: Path, upstream_root: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    return procs.clean_env(
        {
            **(extra or {}),
            "CODESMITH_DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'codesmith.db'}",
            "CODESMITH_DATA_DIR": str(workdir),
            "CODESMITH_VLLM_BASE_URL": f"{upstream_root}/v1",
            "CODESMITH_OPENAI_MODELS": "",
            "CODESMITH_ALLOW_PRIVATE_MODEL_HOSTS": "true",
            "CODESMITH_RATE_LIMIT_REQUESTS_PER_MINUTE": "0",
            "CODESMITH_RATE_LIMIT_TOKENS_PER_DAY": "0",
            "CODESMITH_ACCESS_TOKEN_MINUTES": "600",
            "CODESMITH_REGISTRATIONS_PER_HOUR": "0",  # the bench registers its users from one address
            "CODESMITH_MAX_STREAMS_PER_USER": "1000",  # up to 200 streams over a few users
        }
    )


def start_codesmith(
    running: list[procs.Server], workdir: Path, upstream_root: str, extra_env: dict[str, str] | None = None
) -> tuple[str, int]:
    """Migrate a fresh SQLite database and serve Codesmith on it (one process, as `codesmith serve` does)."""
    env = codesmith_env(workdir, upstream_root, extra_env)
    command = str(procs.PROJECT_VENV / "bin" / "codesmith")
    migrated = subprocess.run([command, "migrate"], env=env, cwd=workdir, capture_output=True, text=True, check=False)
    if migrated.returncode != 0:
        raise procs.BenchError(f"codesmith migrate failed:\n{migrated.stderr[-2000:]}")
    port = procs.free_port()
    server = procs.Server(
        "codesmith", [command, "serve", "--host", "127.0.0.1", "--port", str(port)], env, workdir, cwd=workdir
    )
    running.append(server)
    root = f"http://127.0.0.1:{port}"
    server.wait_http(f"{root}/readyz", timeout=60)
    return root, server.pid


def register_users(api: str, count: int) -> list[str]:
    """Benchmark users, each with an access token."""
    tokens = []
    with httpx.Client(base_url=api, timeout=30) as http:
        for index in range(count):
            email = f"bench{index}@example.com"
            created = http.post("/auth/register", json={"email": email, "password": PASSWORD})
            if created.status_code not in (201, 409):
                raise procs.BenchError(f"registering {email}: HTTP {created.status_code} {created.text[:300]}")
            token = http.post("/auth/token", data={"username": email, "password": PASSWORD})
            token.raise_for_status()
            tokens.append(token.json()["access_token"])
    return tokens


def wait_for_model(api: str, token: str, name: str = MODEL) -> str:
    """The id of the system model that discovery made of the upstream's model `name`."""
    deadline = time.monotonic() + MODEL_WAIT_S
    seen: Any = None
    while time.monotonic() < deadline:
        seen = httpx.get(f"{api}/models", headers={"authorization": f"Bearer {token}"}, timeout=10).json()
        items = seen if isinstance(seen, list) else seen.get("items", [])
        for model in items:
            if model.get("model") == name and model.get("status") == "ok":
                return str(model["id"])
        time.sleep(0.5)
    raise procs.BenchError(f"Codesmith never listed the bench model as ok: {str(seen)[:500]}")


def litellm_config(upstream_root: str, master_key: str) -> str:
    # JSON is YAML: no YAML writer needed. The master key: LiteLLM refuses to start without auth, and
    # Codesmith authenticates every request too.
    return json.dumps(
        {
            "model_list": [
                {
                    "model_name": MODEL,
                    "litellm_params": {
                        "model": f"openai/{MODEL}",
                        "api_base": f"{upstream_root}/v1",
                        "api_key": "none",
                    },
                }
            ],
            "litellm_settings": {"drop_params": True},
            "general_settings": {"master_key": master_key},
        },
        indent=2,
    )


def start_litellm(
    running: list[procs.Server], workdir: Path, upstream_root: str, master_key: str
) -> tuple[str, int] | None:
    """The LiteLLM proxy, one worker, no database; None (and a message) when its venv cannot be built."""
    try:
        python = procs.ensure_venv(procs.LITELLM_VENV, procs.LITELLM_PACKAGES)
    except (procs.BenchError, OSError, subprocess.SubprocessError) as exc:
        procs.say(f"LiteLLM skipped: {exc}")
        return None
    config = workdir / "litellm.yaml"
    config.write_text(litellm_config(upstream_root, master_key))
    port = procs.free_port()
    env = procs.clean_env(
        {
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # no download of the price list at start-up
            "LITELLM_TELEMETRY": "False",
            "DISABLE_ADMIN_UI": "True",
        }
    )
    command = [str(python.parent / "litellm"), "--config", str(config), "--host", "127.0.0.1", "--port", str(port)]
    server = procs.Server("litellm", [*command, "--num_workers", "1"], env, workdir, cwd=workdir)
    running.append(server)
    root = f"http://127.0.0.1:{port}"
    try:
        server.wait_http(f"{root}/health/liveliness", timeout=120)
    except procs.BenchError as exc:
        procs.say(f"LiteLLM skipped: {exc}")
        server.stop()
        return None
    return root, server.pid


def litellm_target(running: list[procs.Server], workdir: Path, upstream_root: str) -> dict[str, Any] | None:
    """LiteLLM's proxy as a load-generator target (an OpenAI client with its master key); None when it
    could not be started (the run goes on without it and says so)."""
    master_key = "sk-bench-" + secrets.token_urlsafe(32)
    litellm = start_litellm(running, workdir, upstream_root, master_key)
    if litellm is None:
        return None
    root, pid = litellm
    return {
        "name": "litellm",
        "kind": "openai",
        "url": f"{root}/v1/chat/completions",
        "pid": pid,
        "headers": {"authorization": f"Bearer {master_key}"},
    }


def litellm_version() -> str | None:
    for package in procs.LITELLM_PACKAGES:
        if package.startswith("litellm"):
            return package.split("==")[-1]
    return None


# -- the run --------------------------------------------------------------------------------------
def loadgen_python() -> Path:
    """The bench venv's python (aiohttp, uvloop); the project's (httpx) when that venv cannot be built."""
    try:
        return procs.ensure_venv(procs.BENCH_VENV, procs.BENCH_PACKAGES)
    except (procs.BenchError, OSError, subprocess.SubprocessError) as exc:
        procs.say(f"bench venv unavailable, the load generator falls back to httpx: {exc}")
        return procs.PROJECT_VENV / "bin" / "python"


def run(*, quick: bool, concurrencies: list[int], with_litellm: bool, profile_dir: Path | None) -> dict[str, Any]:
    plan_sweeps = sweeps(quick, concurrencies)
    python = loadgen_python()
    with procs.scratch_dir("codesmith-bench-") as workdir, procs.servers() as running:
        upstream_root, upstream_pid = start_upstream(running, workdir)
        codesmith_root, codesmith_pid = start_codesmith(running, workdir, upstream_root)
        api = f"{codesmith_root}/api/v1"
        tokens = register_users(api, BENCH_USERS)
        model_id = wait_for_model(api, tokens[0])
        targets: list[dict[str, Any]] = [
            {"name": "direct", "kind": "openai", "url": f"{upstream_root}/v1/chat/completions"},
            {
                "name": "codesmith",
                "kind": "codesmith",
                "url": f"{api}/conversations",
                "pid": codesmith_pid,
                "tokens": tokens,
                "model_id": model_id,
                "api": api,
            },
        ]
        litellm = litellm_target(running, workdir, upstream_root) if with_litellm else None
        if litellm is not None:
            targets.append(litellm)
        plan = {
            "upstream": upstream_root,
            "targets": targets,
            "sweeps": [
                {
                    "delay_ms": sweep.delay_ms,
                    "rounds": sweep.rounds,
                    "upstream_pid": upstream_pid,
                    "levels": [{"concurrency": lv.concurrency, "per_stream": lv.per_stream} for lv in sweep.levels],
                    "targets": list(sweep.targets) if sweep.targets else None,
                }
                for sweep in plan_sweeps
            ],
        }
        try:
            raw = _run_loadgen(python, plan, workdir, codesmith_pid, profile_dir)
        finally:  # the server logs outlive the scratch folder: errors are explained there
            for name in ("codesmith", "litellm"):
                log = workdir / f"{name}.log"
                if log.exists():
                    procs.BENCH_DIR.joinpath("results").mkdir(exist_ok=True)
                    shutil.copyfile(log, procs.BENCH_DIR / "results" / f"latest-{name}.log")
    return {
        "plan": {"sweeps": plan["sweeps"], "targets": [t["name"] for t in targets], "users": BENCH_USERS},
        "litellm_version": litellm_version() if litellm else None,
        "litellm_skipped": with_litellm and litellm is None,
        "loadgen_client": raw["loadgen_client"],
        "summary": summarize(raw["batches"]),
        "batches": raw["batches"],
    }


def _run_loadgen(
    python: Path, plan: dict[str, Any], workdir: Path, codesmith_pid: int, profile_dir: Path | None
) -> dict[str, Any]:
    plan_path, out_path = workdir / "plan.json", workdir / "loadgen.json"
    plan_path.write_text(json.dumps(plan))
    profiler = _start_profiler(codesmith_pid, profile_dir) if profile_dir else None
    try:
        subprocess.run(
            [str(python), "-m", "bench.loadgen", str(plan_path), str(out_path)],
            cwd=procs.REPO_ROOT,
            env=procs.clean_env(),
            check=True,
            timeout=LOADGEN_TIMEOUT_S,
        )
    finally:
        if profiler is not None:
            _stop_profiler(profiler)
    result: dict[str, Any] = json.loads(out_path.read_text())
    return result


def _start_profiler(pid: int, profile_dir: Path) -> subprocess.Popen[bytes] | None:
    """py-spy (bench venv) samples Codesmith for the whole run: a flame graph of where its CPU goes."""
    py_spy = procs.BENCH_VENV / "bin" / "py-spy"
    if not py_spy.exists():
        procs.say("profiling skipped: py-spy is not in the bench venv")
        return None
    profile_dir.mkdir(parents=True, exist_ok=True)
    output = profile_dir / f"codesmith-profile-{time.strftime('%Y%m%d-%H%M%S')}.txt"
    procs.say(f"profiling Codesmith (pid {pid}) into {output} (collapsed stacks; python -m bench.profile reads them)")
    return subprocess.Popen(
        # --gil: only samples that hold the GIL, i.e. Python code running (idle threads would drown it).
        [
            str(py_spy),
            "record",
            "--pid",
            str(pid),
            "--rate",
            "250",
            "--gil",
            "--format",
            "raw",
            "--output",
            str(output),
        ],
        stdout=subprocess.DEVNULL,
        stderr=sys.stderr,
    )


def _stop_profiler(profiler: subprocess.Popen[bytes]) -> None:
    import signal

    profiler.send_signal(signal.SIGINT)  # py-spy writes the flame graph on SIGINT
    try:
        profiler.wait(timeout=60)
    except subprocess.TimeoutExpired:
        profiler.kill()


# -- the summary ----------------------------------------------------------------------------------
def summarize(batches: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (delay, concurrency): each target's figures and the overhead against direct."""
    groups: dict[tuple[float, int], dict[str, list[dict[str, Any]]]] = {}
    for batch in batches:
        key = (batch["delay_ms"], batch["concurrency"])
        groups.setdefault(key, {}).setdefault(batch["target"], []).append(batch)
    rows = []
    for (delay, concurrency), by_target in sorted(groups.items()):
        figures = {name: _target_figures(found) for name, found in by_target.items()}
        direct = figures.get("direct")
        for name, figure in figures.items():
            if direct is not None and name != "direct":
                figure["added_ttft_p50_ms"] = _diff(figure["ttft_p50_ms"], direct["ttft_p50_ms"])
                figure["added_ttft_p95_ms"] = _diff(figure["ttft_p95_ms"], direct["ttft_p95_ms"])
                figure["stream_ratio"] = ratio(figure["total_p50_s"], direct["total_p50_s"])
                figure["per_token_ratio"] = ratio(figure["ms_per_token_p50"], direct["ms_per_token_p50"])
        rows.append({"delay_ms": delay, "concurrency": concurrency, "targets": figures})
    return rows


def _diff(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else round(a - b, 2)


def _target_figures(batches: list[dict[str, Any]]) -> dict[str, Any]:
    requests = [r for b in batches for r in b["requests"]]
    good = [r for r in requests if r["ok"] and r["ttft"] is not None]
    ttft = [r["ttft"] * 1000 for r in good]
    total = [r["total"] for r in good]
    per_token = [r["total"] * 1000 / r["tokens"] for r in good if r.get("tokens")]
    server_cpu = sum(b["cpu_s"].get("server", 0.0) for b in batches)
    stored = [b["stored"] for b in batches if b.get("stored")]
    errors = [r["error"] for r in requests if not r["ok"]]
    return {
        "requests": len(requests),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "ttft_p50_ms": _round(percentile(ttft, 50), 2),
        "ttft_p95_ms": _round(percentile(ttft, 95), 2),
        "total_p50_s": _round(percentile(total, 50), 4),
        "total_p95_s": _round(percentile(total, 95), 4),
        "ms_per_token_p50": _round(percentile(per_token, 50), 3),
        "server_cpu_ms_per_request": _round(server_cpu * 1000 / len(requests), 2) if requests else None,
        "server_peak_rss_mb": max((b["peak_rss_mb"].get("server", 0.0) for b in batches), default=None),
        "upstream_cpu_s": round(sum(b["cpu_s"]["upstream"] for b in batches), 3),
        "loadgen_cpu_s": round(sum(b["cpu_s"]["loadgen"] for b in batches), 3),
        "upstream_max_lateness_ms": max(b["upstream_max_lateness_ms"] for b in batches),
        "stored_checked": sum(s["checked"] for s in stored) if stored else None,
        "stored_whole": sum(s["stored_whole"] for s in stored) if stored else None,
        "stored_failures": [f for s in stored for f in s["failures"]][:3] if stored else None,
    }


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)
