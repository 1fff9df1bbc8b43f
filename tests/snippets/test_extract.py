"""Fenced code blocks out of model answers: what is a block, its language, its code and its title."""

from __future__ import annotations

import pytest

from codesmith.snippets.extract import (
    LANGUAGE_EXTENSIONS,
    MAX_TITLE,
    extension_for,
    extract_snippets,
    normalize_language,
    parse_info_string,
)


class TestFences:
    def test_one_snippet_per_block_in_order(self) -> None:
        text = "Intro\n```python\nprint(1)\n```\nmiddle\n```bash\necho hi\n```\nend"
        found = extract_snippets(text)
        assert [(s.language, s.code) for s in found] == [("python", "print(1)"), ("bash", "echo hi")]

    def test_prose_without_fences_has_no_snippets(self) -> None:
        assert extract_snippets("Just words, and `inline code`, nothing fenced.") == []

    def test_unterminated_last_fence_still_counts(self) -> None:
        found = extract_snippets("Sure:\n```python\ndef f():\n    return 1\n")
        assert len(found) == 1
        assert found[0].code == "def f():\n    return 1"

    def test_tilde_fences(self) -> None:
        found = extract_snippets("~~~ruby\nputs 'hi'\n~~~\n")
        assert [(s.language, s.code) for s in found] == [("ruby", "puts 'hi'")]

    def test_a_backtick_fence_is_not_closed_by_tildes_and_vice_versa(self) -> None:
        found = extract_snippets("```text\na\n~~~\nb\n```\n~~~\nc\n```\nd\n~~~")
        assert [s.code for s in found] == ["a\n~~~\nb", "c\n```\nd"]

    def test_nested_backticks_inside_a_longer_fence_stay_in_the_block(self) -> None:
        text = "````markdown\nUse this:\n```python\nprint(1)\n```\n````\nafter"
        found = extract_snippets(text)
        assert len(found) == 1
        assert found[0].language == "markdown"
        assert found[0].code == "Use this:\n```python\nprint(1)\n```"

    def test_a_closing_fence_may_be_longer_but_not_shorter(self) -> None:
        found = extract_snippets("````js\nlet a = 1\n```\nlet b = 2\n`````\noutside")
        assert [s.code for s in found] == ["let a = 1\n```\nlet b = 2"]

    def test_a_fence_line_with_an_info_string_does_not_close(self) -> None:
        found = extract_snippets("```md\n```python\nx\n```")
        assert [s.code for s in found] == ["```python\nx"]

    def test_no_language(self) -> None:
        found = extract_snippets("```\nSELECT 1;\n```")
        assert found[0].language is None
        assert found[0].code == "SELECT 1;"

    def test_empty_blocks_are_skipped(self) -> None:
        found = extract_snippets("```python\n```\n```\n   \n\n```\n```go\nfunc main() {}\n```")
        assert [s.language for s in found] == ["go"]

    def test_crlf_and_cr_line_breaks(self) -> None:
        found = extract_snippets("Hi\r\n```python\r\na = 1\r\nb = 2\r\n```\r\n```sh\recho x\r```")
        assert [s.code for s in found] == ["a = 1\nb = 2", "echo x"]

    def test_fences_indented_up_to_three_spaces_lose_that_indentation(self) -> None:
        found = extract_snippets("   ```python\n   if x:\n       y()\n  z = 1\n   ```")
        assert found[0].code == "if x:\n    y()\nz = 1"

    def test_four_spaces_make_an_indented_code_block_not_a_fence(self) -> None:
        assert extract_snippets("Text\n\n    ```python\n    x = 1\n    ```\n") == []

    def test_fences_inside_list_items_count(self) -> None:
        text = "1. Install:\n\n    ```bash\n    pip install httpx\n    ```\n2. Run:\n   ```python\n   main()\n   ```"
        found = extract_snippets(text)
        assert [(s.language, s.code) for s in found] == [("bash", "pip install httpx"), ("python", "main()")]

    def test_triple_backticks_inline_are_not_a_fence(self) -> None:
        assert extract_snippets("Wrap code in ```like this``` please") == []

    def test_leading_and_trailing_blank_lines_are_dropped_but_indentation_kept(self) -> None:
        found = extract_snippets("```python\n\n\n    indented = True\n\n```")
        assert found[0].code == "    indented = True"


class TestLanguages:
    @pytest.mark.parametrize(
        ("tag", "language"),
        [
            ("py", "python"),
            ("Python3", "python"),
            ("js", "javascript"),
            ("node", "javascript"),
            ("ts", "typescript"),
            ("tsx", "tsx"),
            ("jsx", "jsx"),
            ("sh", "bash"),
            ("shell", "bash"),
            ("zsh", "bash"),
            ("console", "bash"),
            ("yml", "yaml"),
            ("c++", "cpp"),
            ("cxx", "cpp"),
            ("C#", "csharp"),
            ("cs", "csharp"),
            ("golang", "go"),
            ("rs", "rust"),
            ("rb", "ruby"),
            ("kt", "kotlin"),
            ("ps1", "powershell"),
            ("pwsh", "powershell"),
            ("psql", "sql"),
            ("postgres", "sql"),
            ("mysql", "sql"),
            ("sqlite", "sql"),
            ("Dockerfile", "dockerfile"),
            ("hcl", "terraform"),
            ("tf", "terraform"),
            ("md", "markdown"),
            ("html", "html"),
            ("json", "json"),
            ("toml", "toml"),
            ("language-python", "python"),
            ("elvish", "elvish"),
        ],
    )
    def test_tags_are_normalised(self, tag: str, language: str) -> None:
        assert normalize_language(tag) == language
        assert extract_snippets(f"```{tag}\ncode here\n```")[0].language == language

    @pytest.mark.parametrize("tag", [None, "", "   ", "!!!"])
    def test_no_usable_tag_is_none(self, tag: str | None) -> None:
        assert normalize_language(tag) is None

    def test_an_unknown_tag_is_kept_short_and_clean(self) -> None:
        language = normalize_language("My<Lang>" + "x" * 100)
        assert language is not None and language.startswith("mylang") and len(language) <= 40

    @pytest.mark.parametrize(
        ("language", "extension"),
        [("python", ".py"), ("typescript", ".ts"), ("bash", ".sh"), ("cpp", ".cpp"), ("csharp", ".cs")],
    )
    def test_extensions(self, language: str, extension: str) -> None:
        assert extension_for(language) == extension

    @pytest.mark.parametrize("language", [None, "elvish"])
    def test_unknown_languages_download_as_text(self, language: str | None) -> None:
        assert extension_for(language) == ".txt"

    def test_every_normalised_alias_has_an_extension(self) -> None:
        aliases = ["py", "js", "ts", "sh", "yml", "c++", "cs", "golang", "rs", "rb", "kt", "ps1", "psql", "tf", "md"]
        assert all(normalize_language(alias) in LANGUAGE_EXTENSIONS for alias in aliases)


class TestInfoStrings:
    @pytest.mark.parametrize(
        ("info", "language", "filename"),
        [
            ("python title=app.py", "python", "app.py"),
            ('python title="my app.py"', "python", "my app.py"),
            ("py {highlight}", "python", None),
            ("js {1,3-5} filename=src/index.js", "javascript", "src/index.js"),
            ("{.python .numberLines}", "python", None),
            ("python:main.py", "python", "main.py"),
            ("python main.py", "python", "main.py"),
            ("app.ts", "typescript", "app.ts"),
            ("title=server.go", "go", "server.go"),
            ('python title="unbalanced', "python", "unbalanced"),
            ("", None, None),
        ],
    )
    def test_language_and_filename(self, info: str, language: str | None, filename: str | None) -> None:
        assert parse_info_string(info) == (language, filename)

    def test_the_filename_becomes_the_title(self) -> None:
        found = extract_snippets('```python title="utils/strings.py"\ndef f():\n    pass\n```')
        assert found[0].title == "utils/strings.py"


class TestTitles:
    def _title(self, text: str) -> str:
        return extract_snippets(text)[0].title

    def test_a_function_signature_is_shortened(self) -> None:
        text = "```python\nimport re\n\ndef reverse_words(text: str) -> str:\n    return text\n```"
        assert self._title(text) == "def reverse_words(...)"

    def test_definitions_win_over_earlier_statements(self) -> None:
        text = "```python\nWORDS = 3\n\n@dataclass\nclass Point:\n    x: int\n```"
        assert self._title(text) == "class Point"

    def test_docstrings_comments_and_imports_are_skipped(self) -> None:
        text = '```python\n"""Module docs\nmore docs\n"""\n# a comment\nfrom os import path\nprint(path.sep)\n```'
        assert self._title(text) == "print(path.sep)"

    def test_go_import_blocks_are_skipped(self) -> None:
        text = '```go\npackage main\n\nimport (\n\t"fmt"\n)\n\nfunc main() {\n\tfmt.Println(1)\n}\n```'
        assert self._title(text) == "func main()"

    def test_a_file_named_in_the_first_comment(self) -> None:
        assert self._title("```js\n// server.js\nconst http = require('http')\n```") == "server.js"

    def test_arrow_functions(self) -> None:
        text = "```ts\nexport const add = (a: number, b: number): number => a + b;\n```"
        assert self._title(text) == "export const add = (...) =>"

    def test_c_signatures(self) -> None:
        assert self._title("```c\n#include <stdio.h>\nint main(void) {\n  return 0;\n}\n```") == "int main(...)"

    def test_sql_create_table(self) -> None:
        assert self._title("```sql\nCREATE TABLE users (\n  id int\n);\n```") == "CREATE TABLE users"

    def test_sql_queries_are_not_mistaken_for_signatures(self) -> None:
        text = "```sql\nSELECT name FROM users WHERE id IN (1, 2)\n```"
        assert self._title(text) == "SELECT name FROM users WHERE id IN (1, 2)"

    def test_numbered_fallback_when_nothing_is_meaningful(self) -> None:
        found = extract_snippets("```python\nx = 1\n```\n```python\n# only a comment\n```\n```\n// hmm\n```")
        assert [s.title for s in found] == ["x = 1", "Python snippet 2", "Code snippet 3"]

    def test_titles_are_at_most_80_characters_on_one_line(self) -> None:
        title = self._title("```bash\necho " + "word " * 60 + "\n```")
        assert len(title) <= MAX_TITLE and title.endswith("…") and "\n" not in title
        long_name = self._title(f"```python title={'a' * 200}.py\nx\n```")
        assert len(long_name) <= MAX_TITLE


class TestSpeed:
    def test_a_large_answer_is_extracted_quickly(self) -> None:
        import time

        block = "```python\n" + "x = 1\n" * 200 + "```\n\nSome prose between blocks.\n\n"
        text = block * 200  # ~250 KB, 200 blocks
        started = time.perf_counter()
        found = extract_snippets(text)
        assert len(found) == 200
        assert time.perf_counter() - started < 1.0
