"""The streaming plot: added TTFT and stream-time ratio against concurrent streams (bench venv, matplotlib).

Usage: `bench/.venv-bench/bin/python -m bench.plot bench/results/latest.json docs/performance.png`
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

STYLE = {
    "direct": {"color": "#555555", "marker": "o", "label": "direct (no gateway)"},
    "codesmith": {"color": "#1f77b4", "marker": "s", "label": "Codesmith (1 process)"},
    "litellm": {"color": "#d62728", "marker": "^", "label": "LiteLLM proxy (1 worker)"},
}


def series(rows: list[dict[str, Any]], delay: float, target: str, key: str) -> tuple[list[int], list[float]]:
    xs, ys = [], []
    for row in rows:
        if row["delay_ms"] != delay or target not in row["targets"]:
            continue
        baseline = 0.0 if key == "added_ttft_p50_ms" else 1.0  # direct is the reference: no overhead
        value = baseline if target == "direct" else row["targets"][target].get(key)
        if value is not None:
            xs.append(row["concurrency"])
            ys.append(value)
    return xs, ys


def plot(results: dict[str, Any], output: Path) -> None:
    streaming = results["streaming"]
    rows = streaming["summary"]
    delays = sorted({row["delay_ms"] for row in rows})
    figure, axes = plt.subplots(len(delays), 2, figsize=(11, 4.2 * len(delays)), squeeze=False)
    for line, delay in enumerate(delays):
        ttft_axis, ratio_axis = axes[line]
        for target, style in STYLE.items():
            xs, ys = series(rows, delay, target, "added_ttft_p50_ms")
            if xs:
                ttft_axis.plot(xs, [max(y, 0.1) for y in ys], **style)
            xs, ys = series(rows, delay, target, "stream_ratio")
            if xs:
                ratio_axis.plot(xs, ys, **style)
        ttft_axis.set_yscale("log")
        ttft_axis.set_title(f"Added time to first token, p50 ({delay:g} ms between tokens)")
        ttft_axis.set_ylabel("ms over direct (log scale)")
        ratio_axis.set_title(f"Stream time / direct stream time, p50 ({delay:g} ms between tokens)")
        ratio_axis.set_ylabel("ratio (1.0 = invisible)")
        for axis in (ttft_axis, ratio_axis):
            axis.set_xlabel("concurrent streams")
            axis.grid(True, alpha=0.3)
            axis.legend(fontsize=8)
    machine = results["machine"]
    figure.suptitle(
        f"300-token streams on {machine['nproc']} CPUs ({machine['cpu_model']}), {machine['date']}", fontsize=10
    )
    figure.tight_layout()
    output.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(output, dpi=110)


def main() -> None:
    source, output = Path(sys.argv[1]), Path(sys.argv[2])
    plot(json.loads(source.read_text()), output)


if __name__ == "__main__":
    main()
