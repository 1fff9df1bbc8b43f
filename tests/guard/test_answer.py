"""The last layer: a complete answer must contain a fenced code block."""

from __future__ import annotations

import pytest

from codesmith.guard.answer import has_code_block
from codesmith.snippets.extract import extract_snippets


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


class TestOneFenceParserForTheGuardAndSnippets:
    """An answer the guard passes as code yields a snippet, and one it rejects yields none: the guard asks the
    extractor's fence parser (a blockquoted fence once counted as code here and was no snippet there)."""

    @pytest.mark.parametrize(
        ("text", "code"),
        [
            ("> ```sql\n> SELECT 1;\n> ```", "SELECT 1;"),
            ("> > ```python\n> > print(1)\n> > ```\n", "print(1)"),
            ("> Quoted:\n> ```js\n> let a = 1\n\nNot quoted any more\n", "let a = 1"),
            ("- Step one:\n  ```bash\n  make\n  ```\n", "make"),
            ("> 1. In a quoted list:\n>    ```go\n>    func main() {}\n>    ```", "func main() {}"),
            ("Unterminated at the end:\n```go\nfunc main() {}\n", "func main() {}"),
            ("```\n> not a quote: code\n```", "> not a quote: code"),
        ],
    )
    def test_a_block_the_guard_counts_is_a_snippet(self, text: str, code: str) -> None:
        assert has_code_block(text) is True
        assert [snippet.code for snippet in extract_snippets(text)] == [code]

    @pytest.mark.parametrize(
        "text",
        [
            "> ```python\n> ```",
            "> ```python\nprint(1) is outside the quote, so outside the block\n",
            "        ```python\n        indented code, not a fence\n        ```",
            "A fence that only opens at the very end:\n```python",
        ],
    )
    def test_text_the_guard_rejects_yields_no_snippet(self, text: str) -> None:
        assert has_code_block(text) is False
        assert extract_snippets(text) == []
