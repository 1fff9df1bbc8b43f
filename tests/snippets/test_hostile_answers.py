"""Answers crafted to be slow: parsing model output stays linear in its length, whatever the answer holds.

A regex that backtracks runs in C and holds the GIL, so neither a thread's join(timeout) nor asyncio can stop
it; each case runs under SIGALRM instead (the regex engine checks for signals), so a regression fails in
seconds instead of hanging the suite.
"""

from __future__ import annotations

import random
import re
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from codesmith.snippets.extract import extract_snippets, file_named_in_comment, is_c_signature, is_filename

LANGUAGES = ["c", "cpp", "csharp", "java", "objectivec", "dart", "kotlin", "scala", "groovy", "python", "js", "sql", ""]
# Seconds for an answer of up to 80 KB: the linear code needs milliseconds to a tenth of a second, a
# backtracking regex needs seconds to minutes; the margin is for a busy CI machine.
TIME_LIMIT = 2.0
HARD_LIMIT = 5.0  # past this the case is stopped and fails


class Overran(Exception):
    pass


@contextmanager
def hard_limit(seconds: float) -> Iterator[None]:
    def expire(signum: int, frame: object) -> None:
        raise Overran(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def assert_quick(answer: str) -> None:
    started = time.perf_counter()
    with hard_limit(HARD_LIMIT):
        extract_snippets(answer)
    elapsed = time.perf_counter() - started
    assert elapsed < TIME_LIMIT, f"{elapsed:.2f} s for {len(answer)} chars: {answer[:60]!r}..."


def fenced(language: str, body: str) -> str:
    return f"```{language}\n{body}\n```\n"


# Runs of what the patterns look for, between what starts and ends the lines they read.
RUNS = [" ", "\t", "(", "*", "<", ":", "=", "`", "~", "-", "#", "/", ".", ",", "a", "a ", "a.", "a/", "* ", "- "]
RUNS += ["1. ", "> ", "()", "=>", "const ", "static ", "pub(", "file", "--", "<!--", "a:", "&", "[]", "$", "@"]
STARTS = ["", "int f(", "int ", "const a = ", "const a: ", "export const a = (", "# ", "// ", "<!-- ", "/* "]
STARTS += ["from ", "namespace ", "create ", "def ", "static ", "# file: ", "let x = async ", "pub(", "- ", "1. "]
ENDS = ["", ";x", "(", ")", "{", "=>", "!", "-->", "*/", ".py", ";", ":"]


def handcrafted() -> Iterator[str]:
    yield "int f(" + " " * 50_000 + ";x"  # the reported line: 14 s at 2,500 spaces
    yield "int f(" + " " * 2_500 + ";x"
    for run in RUNS:
        yield run * (5_000 // len(run))
        yield "int " + run * (5_000 // len(run)) + "(;"
    yield "a " * 25_000 + "(" + " " * 5_000 + ";"
    yield "int " + "*" * 50_000 + "f("
    yield "const " * 8_000 + "x"
    yield "static " * 7_000 + "int f(" + "a, " * 5_000 + ";"


def lines_of(rng: random.Random, length: int) -> str:
    run = rng.choice(RUNS)
    return rng.choice(STARTS) + run * (length // len(run)) + rng.choice(ENDS)


class TestExtractionIsLinear:
    @pytest.mark.parametrize("language", LANGUAGES)
    def test_handcrafted_lines(self, language: str) -> None:
        for line in handcrafted():
            assert_quick(fenced(language, line))

    @pytest.mark.parametrize("language", LANGUAGES)
    def test_random_long_lines(self, language: str) -> None:
        rng = random.Random(f"long-{language}")
        for _ in range(20):
            assert_quick(fenced(language, lines_of(rng, rng.randint(5_000, 50_000))))

    @pytest.mark.parametrize("language", LANGUAGES)
    def test_many_lines(self, language: str) -> None:
        rng = random.Random(f"many-{language}")
        body = "\n".join(lines_of(rng, 1_000) for _ in range(60))
        assert_quick(fenced(language, body))

    def test_fences_lists_and_info_strings(self) -> None:
        cases = [
            "`" * 50_000,
            "~" * 50_000 + "\n" + "x\n" * 100,
            "```" + "c " * 25_000 + "\nint f(" + " " * 5_000 + ";x\n```",
            "```python " + 'title="' * 5_000 + "\nx\n```",
            "```c title=" + "a/" * 25_000 + ".py\nx\n```",
            "```\n" * 20_000,
            "````\n```c\n" * 5_000,
            "- " * 25_000 + "```c\nx\n```",
            "1. " * 15_000 + "\n    ```c\n    x\n    ```",
            ("- ```c\n  int f(" + " " * 1_000 + ";x\n  ```\n") * 40,
            "\t" * 50_000 + "```c\nx\n```",
            "\r" * 50_000 + "```c\nx\n```",
            "> " * 25_000 + "```c\nx\n```",
        ]
        for answer in cases:
            assert_quick(answer)


# The patterns the scanners replaced: correct, and quick on short lines, where they serve as the reference.
OLD_C_SIGNATURE = re.compile(r"^(?:[\w:<>,*&\[\]]+\s+)+\**[\w:~]+\s*\([^;]*\)?\s*(?:const\s*)?\{?\s*$")
OLD_FILENAME = re.compile(r"^[\w][\w.@+-]*(?:/[\w.@+-]+)*\.[A-Za-z0-9]{1,10}$")
OLD_FILE_COMMENT = re.compile(
    r"^(?:#|//|--|;|/\*|<!--)\s*(?:file(?:name)?\s*:\s*)?(?P<name>[\w./@+-]+)\s*(?:\*/|-->)?$"
)


def old_file_named(line: str) -> str | None:
    match = OLD_FILE_COMMENT.match(line)
    return match.group("name") if match and OLD_FILENAME.match(match.group("name")) else None


def short_lines(alphabet: list[str], seed: str, count: int = 4_000) -> Iterator[str]:
    rng = random.Random(seed)
    for _ in range(count):
        yield "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12)))


class TestScannersMatchTheOldPatterns:
    def test_c_signatures(self) -> None:
        alphabet = ["int", "f", " ", "(", ")", ";", "*", "::", "~", "<", ">", ",", "{", "const", "&", "[]", "é", "\t"]
        for line in [*short_lines(alphabet, "c"), "int main(void) {", "static int *f(int a)", "f(x)", " int f("]:
            assert is_c_signature(line) == bool(OLD_C_SIGNATURE.match(line)), repr(line)

    def test_file_names(self) -> None:
        alphabet = ["a", "é", "_", ".", "/", "@", "+", "-", "py", "x1", " ", ":", "ABCDEFGHIJK", "٣"]
        for text in [*short_lines(alphabet, "files"), "src/app.py", "a/.py", "/a.py", ".py", "a.", "a//b.c"]:
            assert is_filename(text) == bool(OLD_FILENAME.match(text)), repr(text)

    def test_file_comments(self) -> None:
        alphabet = ["#", "//", "--", ";", "/*", "*/", "<!--", "-->", " ", "file", "name", ":", "a.py", "x", "/", "-"]
        for line in [*short_lines(alphabet, "comments"), "// server.js", "# file: app.py", "<!-- a.html -->"]:
            assert file_named_in_comment(line) == old_file_named(line), repr(line)
