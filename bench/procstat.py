"""CPU seconds and peak memory of a process and its descendants, read from /proc (Linux; stdlib only).

These are the numbers psutil's cpu_times() and memory_info() read; reading them directly keeps the
load generator free of extra dependencies, and /proc also gives the exact peak RSS (VmHWM), which
`clear_refs` resets, so each batch reports its own peak rather than a sampled one.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its last ')'.
    return raw[raw.rfind(")") + 2 :].split()


def process_tree(pid: int) -> list[int]:
    """`pid` and every live descendant."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fields = _stat_fields(int(entry))
        if fields is not None:
            children.setdefault(int(fields[1]), []).append(int(entry))
    tree, stack = [], [pid]
    while stack:
        current = stack.pop()
        tree.append(current)
        stack.extend(children.get(current, []))
    return tree


def cpu_seconds(pid: int, *, tree: bool = True) -> float:
    """User plus system CPU seconds of the process (and its live descendants), with those of the children
    each of them has waited for: a short-lived child (Codesmith's ruff check of a Python snippet, 5 ms a
    run) has exited by the time the figures are read, and its CPU is its parent's to count."""
    total = 0
    for member in process_tree(pid) if tree else [pid]:
        fields = _stat_fields(member)
        if fields is not None:
            # utime, stime, cutime, cstime: fields 14 to 17 of stat.
            total += int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])
    return total / CLOCK_TICKS


def _status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def reset_peak_rss(pid: int) -> None:
    """Start a new peak-RSS window (writing 5 to clear_refs resets VmHWM; needs the process's owner)."""
    for member in process_tree(pid):
        with contextlib.suppress(OSError):
            Path(f"/proc/{member}/clear_refs").write_text("5")


def peak_rss_mb(pid: int) -> float:
    """The summed peak RSS (VmHWM) of the process tree since the last reset, in MiB."""
    return sum(_status_kb(member, "VmHWM") for member in process_tree(pid)) / 1024


def rss_mb(pid: int) -> float:
    return sum(_status_kb(member, "VmRSS") for member in process_tree(pid)) / 1024
