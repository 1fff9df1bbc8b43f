"""The local check against the labelled data set: no false rejections, most refusals caught, fast."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import pytest

from codesmith.guard.local import Verdict, check

DATASET = Path(__file__).parents[1] / "data" / "guard_prompts.jsonl"
MIN_CATCH_RATE = 0.85
MAX_MEAN_SECONDS = 0.001


def load() -> list[tuple[str, str]]:
    rows = [json.loads(line) for line in DATASET.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [(row["text"], row["label"]) for row in rows]


@pytest.fixture(scope="module")
def dataset() -> list[tuple[str, str]]:
    return load()


@pytest.fixture(scope="module")
def verdicts(dataset: list[tuple[str, str]]) -> list[tuple[str, str, Verdict]]:
    return [(text, label, check(text)) for text, label in dataset]


def test_the_data_set_is_big_and_varied(dataset: list[tuple[str, str]]) -> None:
    labels = Counter(label for _, label in dataset)
    assert set(labels) == {"code", "non_code", "injection"}
    assert len(dataset) >= 300
    assert labels["code"] >= 170 and labels["non_code"] >= 70 and labels["injection"] >= 60
    texts = [text for text, _ in dataset]
    assert len(set(texts)) == len(texts), "duplicate prompts"


def test_no_code_request_is_rejected(verdicts: list[tuple[str, str, Verdict]]) -> None:
    code = [(text, verdict) for text, label, verdict in verdicts if label == "code"]
    rejected = [(text, verdict.category, verdict.reason) for text, verdict in code if not verdict.allowed]
    print(f"\nfalse rejections: {len(rejected)} of {len(code)} code prompts")
    for text, category, reason in rejected:
        print(f"  {text!r}: {category}, {reason}")
    assert rejected == []


def test_most_non_code_and_injection_prompts_are_caught(verdicts: list[tuple[str, str, Verdict]]) -> None:
    caught: Counter[str] = Counter()
    total: Counter[str] = Counter()
    missed = []
    for text, label, verdict in verdicts:
        if label == "code":
            continue
        total[label] += 1
        if verdict.allowed:
            missed.append((label, text, verdict.category))
        else:
            caught[label] += 1
    for label in sorted(total):
        print(f"\n{label}: caught {caught[label]} of {total[label]} ({caught[label] / total[label]:.1%})", end="")
    rate = sum(caught.values()) / sum(total.values())
    print(f"\nall refusable prompts: caught {sum(caught.values())} of {sum(total.values())} ({rate:.1%})")
    for label, text, category in missed:
        print(f"  missed {label}: {text!r} (seen as {category})")
    assert rate >= MIN_CATCH_RATE


def test_the_check_takes_well_under_a_millisecond(dataset: list[tuple[str, str]]) -> None:
    texts = [text for text, _ in dataset]
    # The best of a few rounds: a loaded machine slows a round down, never speeds it up.
    rounds = []
    for _ in range(3):
        started = time.perf_counter()
        for text in texts:
            check(text)
        rounds.append((time.perf_counter() - started) / len(texts))
    mean = min(rounds)
    print(f"\nlocal check: {mean * 1e6:.1f} µs per prompt on average over {len(texts)} prompts")
    assert mean < MAX_MEAN_SECONDS


def test_a_maximum_length_prompt_is_still_fast() -> None:
    prompt = ("total = compute(values[index]) + offset  # keep a running sum\n" * 200)[:8000]
    rounds = []
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(10):
            check(prompt)
        rounds.append((time.perf_counter() - started) / 10)
    print(f"\nlocal check on 8000 characters: {min(rounds) * 1e6:.0f} µs")
    assert min(rounds) < 5 * MAX_MEAN_SECONDS
