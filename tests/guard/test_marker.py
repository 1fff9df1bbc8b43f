"""The model's own check: a streamed answer that starts with NOT_CODE: is held back entirely."""

from __future__ import annotations

import pytest

from codesmith.guard.marker import MARKER, MAX_REASON_CHARS, MarkerGate


def run(deltas: list[str]) -> tuple[MarkerGate, str, list[str]]:
    """Feed every delta, then finish; return the gate, all emitted text and each feed's output."""
    gate = MarkerGate()
    outputs = [gate.feed(delta) for delta in deltas]
    tail = gate.finish()
    return gate, "".join(outputs) + tail, outputs


def pieces(text: str, size: int) -> list[str]:
    return [text[index : index + size] for index in range(0, len(text), size)]


def test_the_marker_is_the_documented_one() -> None:
    assert MARKER == "NOT_CODE:"


class TestRefusal:
    def test_marker_split_across_tiny_deltas_emits_nothing(self) -> None:
        gate, emitted, outputs = run(["NO", "T_", "CODE: poems are not code\n", "Here is a poem anyway..."])
        assert emitted == ""
        assert outputs == ["", "", "", ""]
        assert gate.refused and gate.decided
        assert gate.reason == "poems are not code"

    @pytest.mark.parametrize("size", [1, 2, 3, 7])
    def test_any_split_of_a_refusal_emits_nothing(self, size: int) -> None:
        answer = "NOT_CODE: this asks for a recipe\nSorry, I only write code.\n```\nnot really code\n```"
        gate, emitted, _ = run(pieces(answer, size))
        assert emitted == ""
        assert gate.reason == "this asks for a recipe"

    def test_leading_whitespace_before_the_marker(self) -> None:
        gate, emitted, _ = run(["\n", "  ", "\tNOT_CODE:", " small talk", "\nmore"])
        assert emitted == ""
        assert gate.refused and gate.reason == "small talk"

    def test_reason_is_known_once_its_line_is_complete(self) -> None:
        gate = MarkerGate()
        assert gate.feed("NOT_CODE: a trivia") == ""
        assert gate.refused and gate.reason is None  # the line may go on
        assert gate.feed(" question\nrest") == ""
        assert gate.reason == "a trivia question"

    def test_reason_at_the_end_of_the_stream(self) -> None:
        gate, emitted, _ = run(["NOT_CODE:", " not code"])
        assert emitted == "" and gate.reason == "not code"

    def test_empty_reason(self) -> None:
        gate, emitted, _ = run(["NOT_CODE:"])
        assert emitted == "" and gate.refused and gate.reason == ""

    def test_a_reason_without_a_newline_is_cut(self) -> None:
        gate = MarkerGate()
        gate.feed("NOT_CODE: " + "x" * (MAX_REASON_CHARS * 3))
        assert gate.reason is not None and len(gate.reason) <= MAX_REASON_CHARS

    def test_nothing_is_emitted_after_a_refusal(self) -> None:
        gate = MarkerGate()
        gate.feed("NOT_CODE: no\n")
        assert [gate.feed(text) for text in ["print(1)", "\n", "```"]] == ["", "", ""]
        assert gate.finish() == ""


class TestNormalAnswer:
    @pytest.mark.parametrize("size", [1, 2, 3, 5, 100])
    def test_answer_in_tiny_deltas_is_emitted_exactly(self, size: int) -> None:
        answer = "Here is the function:\n\n```python\ndef add(a, b):\n    return a + b\n```\n"
        gate, emitted, _ = run(pieces(answer, size))
        assert emitted == answer
        assert gate.decided and not gate.refused and gate.reason is None

    def test_text_passes_through_once_decided(self) -> None:
        gate = MarkerGate()
        assert gate.feed("```py") == "```py"
        assert gate.decided
        assert gate.feed("thon\n") == "thon\n"

    def test_held_text_is_released_when_it_diverges(self) -> None:
        gate = MarkerGate()
        assert gate.feed("NOT") == ""
        assert gate.feed("E: this is a note") == "NOTE: this is a note"
        assert gate.decided and not gate.refused

    def test_a_start_like_the_marker_is_emitted_whole(self) -> None:
        for answer in ["NOTE: use a set", "NOT_CODED yet", "NOT CODE: spaced", "not_code: lower case"]:
            gate, emitted, _ = run(pieces(answer, 1))
            assert emitted == answer
            assert not gate.refused

    def test_leading_whitespace_is_kept(self) -> None:
        gate, emitted, _ = run(["\n", " ", "x = 1"])
        assert emitted == "\n x = 1" and not gate.refused

    @pytest.mark.parametrize("answer", ["", "ok", "NOT_", "NOT_CODE", "  \n"])
    def test_answer_shorter_than_the_marker(self, answer: str) -> None:
        gate, emitted, _ = run(pieces(answer, 1) if answer else [])
        assert emitted == answer
        assert not gate.refused and gate.decided

    def test_the_marker_later_in_the_answer_is_just_text(self) -> None:
        answer = "Print it:\nNOT_CODE: is what the model says when refusing"
        gate, emitted, _ = run(pieces(answer, 4))
        assert emitted == answer and not gate.refused
