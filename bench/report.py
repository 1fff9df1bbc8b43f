"""The machine a run was taken on, and the markdown tables printed after a run (and pasted into the docs)."""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path
from typing import Any

# Targets of docs/performance.md (5 ms between tokens, one Codesmith process).
TTFT_TARGET_MS = 4.0
RATIO_TARGETS = {(5, 20): 1.05, (5, 100): 1.3, (5, 200): 2.0, (20, 200): 1.1}
CPU_TARGET_MS = 20.0
SCALE_TARGET_MS = 30.0
USAGE_TARGET_MS = 100.0


def machine() -> dict[str, Any]:
    cpu_model = "unknown"
    memory_gib = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_gib = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "memory_gib": memory_gib,
        "cpu_model": cpu_model,
        "python": platform.python_version(),
        "kernel": platform.release(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


def _fmt(value: Any, suffix: str = "", digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}{suffix}"
    return f"{value}{suffix}"


def _signed(value: float | None, suffix: str = " ms") -> str:
    return "-" if value is None else f"{value:+.1f}{suffix}"


def _mark(ok: bool | None) -> str:
    return "" if ok is None else (" ✓" if ok else " ✗")


def streaming_tables(result: dict[str, Any]) -> str:
    lines: list[str] = []
    rows = result["summary"]
    delays = sorted({row["delay_ms"] for row in rows})
    peers = [name for name in ("codesmith", "litellm") if any(name in row["targets"] for row in rows)]
    for delay in delays:
        lines += [f"#### {delay:g} ms between tokens (300 tokens a stream)", ""]
        header = "| streams | direct TTFT p50 / p95 |"
        rule = "|---|---|"
        for peer in peers:
            header += f" {peer}: added TTFT p50 / p95 | {peer}: stream time ratio | {peer}: errors |"
            rule += "---|---|---|"
        lines += [header, rule]
        for row in (r for r in rows if r["delay_ms"] == delay):
            direct = row["targets"].get("direct", {})
            line = (
                f"| {row['concurrency']} | {_fmt(direct.get('ttft_p50_ms'), ' ms')} / "
                f"{_fmt(direct.get('ttft_p95_ms'), ' ms')} |"
            )
            for peer in peers:
                figure = row["targets"].get(peer)
                if figure is None:
                    line += " - | - | - |"
                    continue
                target = RATIO_TARGETS.get((int(delay), row["concurrency"]))
                ratio_ok = (
                    None if target is None or figure["stream_ratio"] is None else figure["stream_ratio"] <= target
                )
                ttft_ok = None
                if peer == "codesmith" and delay == 5 and row["concurrency"] == 1 and figure["added_ttft_p50_ms"]:
                    ttft_ok = figure["added_ttft_p50_ms"] <= TTFT_TARGET_MS
                line += (
                    f" {_signed(figure['added_ttft_p50_ms'])}{_mark(ttft_ok if peer == 'codesmith' else None)} / "
                    f"{_signed(figure['added_ttft_p95_ms'])} |"
                    f" {_fmt(figure['stream_ratio'], 'x', 2)}{_mark(ratio_ok if peer == 'codesmith' else None)} |"
                    f" {figure['errors']}/{figure['requests']} |"
                )
            lines.append(line)
        lines += ["", *_server_table(rows, delay, peers), ""]
    return "\n".join(lines)


def _server_table(rows: list[dict[str, Any]], delay: float, peers: list[str]) -> list[str]:
    header = "| streams |"
    rule = "|---|"
    for peer in peers:
        header += f" {peer}: CPU per request | {peer}: peak RSS |"
        rule += "---|---|"
    header += " Codesmith: answers stored whole | upstream: worst token lateness |"
    rule += "---|---|"
    lines = [header, rule]
    for row in (r for r in rows if r["delay_ms"] == delay):
        line = f"| {row['concurrency']} |"
        for peer in peers:
            figure = row["targets"].get(peer, {})
            cpu = figure.get("server_cpu_ms_per_request")
            cpu_ok = None if peer != "codesmith" or cpu is None else cpu <= CPU_TARGET_MS
            line += f" {_fmt(cpu, ' ms')}{_mark(cpu_ok)} | {_fmt(figure.get('server_peak_rss_mb'), ' MiB', 0)} |"
        codesmith = row["targets"].get("codesmith", {})
        stored = f"{codesmith.get('stored_whole')}/{codesmith.get('stored_checked')}" if codesmith else "-"
        lateness = max((f.get("upstream_max_lateness_ms") or 0) for f in row["targets"].values())
        line += f" {stored} | {_fmt(lateness, ' ms')} |"
        lines.append(line)
    return lines


def scale_tables(result: dict[str, Any]) -> str:
    lines: list[str] = []
    for backend in result.get("backends", []):
        if backend.get("skipped"):
            lines += [f"#### {backend['name']}: skipped ({backend['skipped']})", ""]
            continue
        load = backend.get("load", {})
        origin = f" (a copy of the database built {load['built']})" if load.get("cached") else ""
        lines += [
            f"#### {backend['name']}",
            "",
            f"Loaded {load.get('rows', 0):,} rows in {load.get('seconds', 0):.1f} s "
            f"({load.get('rows_per_second', 0):,.0f} rows/s){origin}; database size {load.get('size_mb', 0):,.0f} MiB.",
            "",
            "| query | p50 | p95 | target | rows |",
            "|---|---|---|---|---|",
        ]
        for query in backend["queries"]:
            target = USAGE_TARGET_MS if query["name"].startswith("usage") else SCALE_TARGET_MS
            ok = None
            if backend["name"].startswith("SQLite") and query.get("p95_ms") is not None:
                ok = query["p95_ms"] <= target
            lines.append(
                f"| {query['label']} | {_fmt(query.get('p50_ms'), ' ms')} | {_fmt(query.get('p95_ms'), ' ms')}"
                f"{_mark(ok)} | ≤ {target:.0f} ms | {query.get('items', '-')} |"
            )
        lines.append("")
    return "\n".join(lines)


def real_vllm_tables(result: dict[str, Any]) -> str:
    if result.get("skipped"):
        return f"Real vLLM: skipped ({result['skipped']})\n"
    lines = [
        "| streams | direct TTFT p50 | Codesmith added TTFT p50 / p95 | direct stream p50 | stream time ratio "
        "| time per token ratio | errors |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in result["summary"]:
        direct, codesmith = row["targets"].get("direct", {}), row["targets"].get("codesmith", {})
        lines.append(
            f"| {row['concurrency']} | {_fmt(direct.get('ttft_p50_ms'), ' ms')} | "
            f"{_signed(codesmith.get('added_ttft_p50_ms'))} / {_signed(codesmith.get('added_ttft_p95_ms'))} | "
            f"{_fmt(direct.get('total_p50_s'), ' s', 3)} | {_fmt(codesmith.get('stream_ratio'), 'x', 2)} | "
            f"{_fmt(codesmith.get('per_token_ratio'), 'x', 2)} | "
            f"{codesmith.get('errors', '-')}/{codesmith.get('requests', '-')} |"
        )
    return "\n".join(lines) + "\n"
