"""The first layer: control characters go, empty and over-long prompts are refused."""

from __future__ import annotations

import pytest

from codesmith.errors import PromptTooLong, ValidationFailed
from codesmith.guard.input import clean_prompt


class TestCleaning:
    def test_control_characters_are_stripped(self) -> None:
        assert clean_prompt("sort\x00 a\x07 list\x1b[31m\x7f\x85", max_chars=100) == "sort a list[31m"

    def test_newlines_and_tabs_are_kept(self) -> None:
        text = "def f():\n\treturn 1\n"
        assert clean_prompt(text, max_chars=100) == text

    def test_carriage_returns_become_newlines(self) -> None:
        assert clean_prompt("line one\r\nline two\rline three", max_chars=100) == "line one\nline two\nline three"

    def test_invisible_and_bidirectional_characters_are_stripped(self) -> None:
        # Zero-width spaces hide words from a reader; bidi overrides reorder code ("Trojan Source").
        assert clean_prompt("ign\u200bore \u202eabc\u202c x\ufeff", max_chars=100) == "ignore abc x"

    def test_ordinary_unicode_is_untouched(self) -> None:
        text = "écris une fonction qui trie — 排序 👍🏽 \u200d"
        assert clean_prompt(text, max_chars=100) == text


class TestEmpty:
    @pytest.mark.parametrize("text", ["", "   ", "\n\t \n", "\x00\x01\x02", " \u200b "])
    def test_empty_or_blank_is_a_validation_error(self, text: str) -> None:
        with pytest.raises(ValidationFailed) as raised:
            clean_prompt(text, max_chars=100)
        problem = raised.value.problem()
        assert problem["code"] == "validation_error"
        assert problem["status"] == 422
        assert problem["errors"] == [{"loc": ["body", "prompt"], "msg": raised.value.detail}]

    def test_the_error_names_the_field(self) -> None:
        with pytest.raises(ValidationFailed) as raised:
            clean_prompt(" ", max_chars=100, field="content")
        assert raised.value.errors[0]["loc"] == ["body", "content"]
        assert "content" in raised.value.detail


class TestTooLong:
    def test_over_the_limit_is_prompt_too_long(self) -> None:
        with pytest.raises(PromptTooLong) as raised:
            clean_prompt("x" * 101, max_chars=100)
        problem = raised.value.problem()
        assert problem["code"] == "prompt_too_long"
        assert problem["status"] == 422
        assert "101" in problem["detail"] and "100" in problem["detail"]

    def test_exactly_the_limit_is_accepted(self) -> None:
        assert clean_prompt("x" * 100, max_chars=100) == "x" * 100

    def test_length_is_counted_after_cleaning(self) -> None:
        text = "x" * 100 + "\x00" * 50
        assert clean_prompt(text, max_chars=100) == "x" * 100
