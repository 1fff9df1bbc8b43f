"""The last layer: a complete answer must contain a fenced code block."""

from __future__ import annotations

import pytest

from codesmith.guard.answer import has_code_block


@pytest.mark.parametrize(
    "text",
    [
        "Here you go:\n\n```python\nprint('hi')\n```\n",
        "```\nls -la\n```",
        "~~~js\nconsole.log(1)\n~~~",
        "Some text\n````md\n```python\nnested\n```\n````",
        "1. Install it:\n   ```bash\n   pip install httpx\n   ```\n2. Done.",
        "> ```sql\n> SELECT 1;\n> ```",
        "Unterminated at the end:\n```go\nfunc main() {}\n",
        "```python\nx = 1\n``` \ntrailing text",
    ],
)
def test_answers_with_a_code_block(text: str) -> None:
    assert has_code_block(text) is True


@pytest.mark.parametrize(
    "text",
    [
        "",
        "I can't help with that, but here is an explanation in words.",
        "Use the `sorted()` function with `key=len`.",
        "Inline ```triple backticks``` in a sentence are not a fence.",
        "An empty block:\n```python\n```\n",
        "A fence that only opens at the very end:\n```python",
        "A fence with blank lines only:\n```\n\n   \n```",
        "A fence must start its line: see ```\nthis is prose\n",
    ],
)
def test_answers_without_a_code_block(text: str) -> None:
    assert has_code_block(text) is False


def test_a_shorter_fence_does_not_close_a_longer_one() -> None:
    # The ``` inside stays content of the ```` block, which the end of the answer closes.
    assert has_code_block("````\n```\n") is True


def test_a_tilde_fence_is_not_closed_by_backticks() -> None:
    assert has_code_block("~~~\n```\n") is True
