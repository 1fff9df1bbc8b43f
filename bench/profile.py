"""Reads py-spy's collapsed stacks (`--format raw`): where Codesmith's CPU went, by function.

Usage: `python -m bench.profile bench/results/codesmith-profile-*.txt [--top 30] [--match codesmith]`
(flamegraph.pl or speedscope.app draw the same file as a picture).
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path


def load(path: Path) -> list[tuple[list[str], int]]:
    stacks = []
    for line in path.read_text().splitlines():
        frames, _, count = line.rpartition(" ")
        if frames and count.isdigit():
            stacks.append((frames.split(";"), int(count)))
    return stacks


def summarize(stacks: list[tuple[list[str], int]], match: str | None) -> tuple[int, Counter[str], Counter[str]]:
    total = sum(count for _, count in stacks)
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for frames, count in stacks:
        own[frames[-1]] += count
        for frame in set(frames):
            if match is None or match in frame:
                inclusive[frame] += count
    return total, own, inclusive


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--match", default=None, help="Inclusive table: only frames containing this text.")
    args = parser.parse_args()
    total, own, inclusive = summarize(load(args.profile), args.match)
    print(f"{total} samples")
    print("\nSelf time (where the CPU is spent):")
    for frame, count in own.most_common(args.top):
        print(f"{100 * count / total:6.1f}%  {frame}")
    print("\nInclusive time (the function and what it calls):")
    for frame, count in inclusive.most_common(args.top):
        print(f"{100 * count / total:6.1f}%  {frame}")


if __name__ == "__main__":
    main()
