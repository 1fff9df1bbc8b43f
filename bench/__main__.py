"""`python -m bench`: Codesmith's benchmarks (streaming overhead against direct and LiteLLM, data at scale,
replicas: one worker against two, deltas across replicas, the cost of leases and the reaper; snippet checks).

Writes the raw figures as JSON into bench/results/ and prints markdown tables. The full run takes about
seventeen minutes once the loaded databases are cached in bench/.cache/ (the first run loads them: ten
more); `--quick` is a smoke run (about eight). `--real-vllm` adds the real vLLM CPU engine. See docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import procs, report

RESULTS_DIR = procs.BENCH_DIR / "results"
SECTIONS = ("streaming", "scale", "replicas", "real-vllm", "openai", "export", "checks")
DEFAULT_SECTIONS = ["streaming", "scale", "replicas", "openai", "export", "checks"]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="A smoke run: fewer rounds, fewer rows, fewer repeats.")
    parser.add_argument("--only", choices=SECTIONS, action="append", help="Run only this section (repeatable).")
    parser.add_argument("--concurrency", default="1,20,100,200", help="Concurrent streams per level (comma-separated).")
    parser.add_argument("--no-litellm", action="store_true", help="Skip the LiteLLM proxy.")
    parser.add_argument("--no-postgres", action="store_true", help="Data at scale on SQLite only.")
    parser.add_argument(
        "--real-vllm", action="store_true", help="Also direct vs Codesmith on the real vLLM CPU engine."
    )
    parser.add_argument(
        "--profile", action="store_true", help="py-spy flame graph of Codesmith during the streaming or /v1 run."
    )
    parser.add_argument(
        "--plot", type=Path, help="Also write the streaming plot here (PNG), e.g. docs/performance.png."
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sections = args.only or [*DEFAULT_SECTIONS, *(["real-vllm"] if args.real_vllm else [])]
    stamp = time.strftime("%Y%m%d-%H%M%S")
    results: dict[str, Any] = {"machine": report.machine(), "quick": args.quick, "argv": sys.argv[1:]}
    started = time.monotonic()
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    try:
        if "streaming" in sections:
            results["streaming"] = _streaming(args)
        if "scale" in sections:
            results["scale"] = _scale(args)
        if "replicas" in sections:
            results["replicas"] = _replicas(args)
        if "real-vllm" in sections:
            results["real_vllm"] = _real_vllm(args)
        if "openai" in sections:
            results["openai"] = _openai(args)
        if "export" in sections:
            results["export"] = _export(args)
        if "checks" in sections:
            results["checks"] = _checks(args)
    finally:
        results["seconds"] = round(time.monotonic() - started, 1)
        path = RESULTS_DIR / f"{stamp}.json"
        path.write_text(json.dumps(results, indent=1))
        (RESULTS_DIR / "latest.json").write_text(json.dumps(results, indent=1))
        procs.say(f"results: {path.relative_to(procs.REPO_ROOT)} ({results['seconds']:.0f} s)")
    print(render(results))
    if "streaming" in results:
        _plot(RESULTS_DIR / "latest.json", args.plot or RESULTS_DIR / f"{stamp}.png")
    return 0


def _streaming(args: argparse.Namespace) -> dict[str, Any]:
    from bench import streaming

    procs.say("streaming overhead: direct vs Codesmith" + ("" if args.no_litellm else " vs LiteLLM"))
    return streaming.run(
        quick=args.quick,
        concurrencies=[int(c) for c in args.concurrency.split(",")],
        with_litellm=not args.no_litellm,
        profile_dir=RESULTS_DIR if args.profile else None,
    )


def _scale(args: argparse.Namespace) -> dict[str, Any]:
    from bench import scale

    procs.say("data at scale")
    return scale.run(quick=args.quick, with_postgres=not args.no_postgres)


def _replicas(args: argparse.Namespace) -> dict[str, Any]:
    from bench import replicas

    procs.say("replicas: one worker against two, deltas across replicas, leases and the reaper")
    # PostgreSQL in the throughput part only in the full run: two more Codesmith targets.
    return replicas.run(quick=args.quick, with_postgres=not args.no_postgres, throughput_postgres=not args.quick)


def _real_vllm(args: argparse.Namespace) -> dict[str, Any]:
    from bench import real_vllm

    procs.say("real engine: direct vs Codesmith on vLLM (CPU)")
    return real_vllm.run(quick=args.quick)


def _openai(args: argparse.Namespace) -> dict[str, Any]:
    from bench import openai_compat

    procs.say("/v1 (OpenAI-compatible): direct vs Codesmith's /v1" + ("" if args.no_litellm else " vs LiteLLM"))
    levels = [int(c) for c in args.concurrency.split(",")]
    return openai_compat.run(
        quick=args.quick,
        concurrencies=levels,
        with_litellm=not args.no_litellm,
        profile_dir=RESULTS_DIR if args.profile else None,
    )


def _export(args: argparse.Namespace) -> dict[str, Any]:
    from bench import export

    procs.say("export: GET /users/me/export, 10,000 and 100,000 messages (constant memory)")
    return export.run(quick=args.quick)


def _checks(args: argparse.Namespace) -> dict[str, Any]:
    from bench import checks

    procs.say("snippet checks: each checker on ~300 lines, pathological input, a typical answer")
    return checks.run(quick=args.quick)


def render(results: dict[str, Any]) -> str:
    m = results["machine"]
    parts = [
        f"## Codesmith benchmarks ({m['date']})",
        "",
        f"{m['nproc']} CPUs ({m['cpu_model']}), {m['memory_gib']} GiB RAM, Python {m['python']}, "
        f"load average at start {m['load_average_at_start']}; {'quick' if results['quick'] else 'full'} run, "
        f"{results['seconds']:.0f} s.",
        "",
    ]
    if "streaming" in results:
        streaming = results["streaming"]
        peer = f", LiteLLM {streaming['litellm_version']}" if streaming.get("litellm_version") else ""
        parts += [f"### Streaming overhead (client: {streaming['loadgen_client']}{peer})", ""]
        parts.append(report.streaming_tables(streaming))
    if "scale" in results:
        parts += ["### Data at scale", "", report.scale_tables(results["scale"])]
    if "replicas" in results:
        parts += ["### Replicas", "", report.replicas_tables(results["replicas"])]
    if "real_vllm" in results:
        parts += ["### Real engine (vLLM on the CPU, tiny model)", "", report.real_vllm_tables(results["real_vllm"])]
    if "openai" in results:
        from bench import openai_compat

        parts += ["### /v1 (OpenAI-compatible)", "", openai_compat.render(results["openai"]), ""]
    if "export" in results:
        from bench import export

        parts += ["### Exporting a user's data", "", export.render(results["export"]), ""]
    if "checks" in results:
        from bench import checks

        parts += ["### Snippet checks", "", checks.render(results["checks"]), ""]
    return "\n".join(parts)


def _plot(source: Path, output: Path) -> None:
    python = procs.BENCH_VENV / "bin" / "python"
    if not python.exists():
        procs.say("plot skipped: the bench venv (matplotlib) is missing")
        return
    result = subprocess.run(
        [str(python), "-m", "bench.plot", str(source), str(output)],
        cwd=procs.REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode == 0:
        procs.say(f"plot: {output}")
    else:
        procs.say(f"plot failed: {result.stderr[-1000:]}")


if __name__ == "__main__":
    raise SystemExit(main())
