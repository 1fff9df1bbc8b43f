"""JavaScript / JSX, TypeScript / TSX, Go, Rust, Java, C, C++ and Bash: tree-sitter grammars from their PyPI
wheels (compiled in, nothing fetched at run time). A snippet fails on the parser's ERROR and MISSING nodes.

Grammars are loaded once per process; a tree-sitter Parser is not thread-safe, so each thread keeps its own.
Parsing reads the source in chunks so that a progress callback can stop it at the deadline.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import tree_sitter
import tree_sitter_bash
import tree_sitter_c
import tree_sitter_cpp
import tree_sitter_go
import tree_sitter_java
import tree_sitter_javascript
import tree_sitter_rust
import tree_sitter_typescript

from codesmith.snippets.checks.result import Check, Context, Diagnostic, unchecked, verdict

CHUNK_BYTES = 64 * 1024
NEAR_CHARS = 30


@dataclass(frozen=True, slots=True)
class Grammar:
    checker: str
    language: Callable[[], object]


_JAVASCRIPT = Grammar("tree-sitter-javascript", tree_sitter_javascript.language)  # JSX included
_TYPESCRIPT = Grammar("tree-sitter-typescript", tree_sitter_typescript.language_typescript)
_TSX = Grammar("tree-sitter-tsx", tree_sitter_typescript.language_tsx)

# Each language's grammars, tried in order: a snippet passes when one parses it cleanly. Models label React
# components "typescript", so TypeScript falls back to TSX (which cannot read `<T>value` casts).
GRAMMARS: dict[str, tuple[Grammar, ...]] = {
    "javascript": (_JAVASCRIPT,),
    "jsx": (_JAVASCRIPT,),
    "typescript": (_TYPESCRIPT, _TSX),
    "tsx": (_TSX,),
    "go": (Grammar("tree-sitter-go", tree_sitter_go.language),),
    "rust": (Grammar("tree-sitter-rust", tree_sitter_rust.language),),
    "java": (Grammar("tree-sitter-java", tree_sitter_java.language),),
    "c": (Grammar("tree-sitter-c", tree_sitter_c.language),),
    "cpp": (Grammar("tree-sitter-cpp", tree_sitter_cpp.language),),
    "bash": (Grammar("tree-sitter-bash", tree_sitter_bash.language),),
}

_parsers = threading.local()


class OutOfTime(Exception):
    """The deadline passed while parsing."""


def check_with_grammar(language: str, code: str, context: Context) -> Check:
    if language == "bash" and _is_shell_transcript(code):
        return unchecked()  # `$ ls` and what it printed: a session to read, not a script
    source = code.encode("utf-8", "replace")
    first: tuple[Grammar, list[Diagnostic]] | None = None
    for grammar in GRAMMARS[language]:
        try:
            found = _problems(_parse(grammar, source, context), source)
        except OutOfTime:
            return unchecked()
        if not found:
            return verdict(grammar.checker, [])
        first = first or (grammar, found)
    assert first is not None
    return verdict(first[0].checker, first[1])


@functools.cache
def _language(grammar: Grammar) -> tree_sitter.Language:
    return tree_sitter.Language(grammar.language())


def _parser(grammar: Grammar) -> tree_sitter.Parser:
    cache: dict[str, tree_sitter.Parser] | None = getattr(_parsers, "by_checker", None)
    if cache is None:
        cache = _parsers.by_checker = {}
    parser = cache.get(grammar.checker)
    if parser is None:
        parser = cache[grammar.checker] = tree_sitter.Parser(_language(grammar))
    return parser


def _parse(grammar: Grammar, source: bytes, context: Context) -> tree_sitter.Tree:
    deadline = context.deadline

    def read(offset: int, _point: object) -> bytes:
        return source[offset : offset + CHUNK_BYTES]

    def give_up(*_state: object) -> bool:
        return time.monotonic() > deadline

    parser = _parser(grammar)
    try:
        return parser.parse(read, progress_callback=give_up)
    except ValueError as error:  # tree-sitter's "Parsing failed": the callback stopped it
        parser.reset()
        raise OutOfTime from error


def _problems(tree: tree_sitter.Tree, source: bytes) -> list[Diagnostic]:
    """The outermost ERROR nodes and every MISSING node, in source order, up to the cap's worth."""
    found: list[Diagnostic] = []
    stack = [tree.root_node]
    lines = _LineStarts(source)
    while stack and len(found) < 50:
        node = stack.pop()
        if node.is_missing:
            found.append(_diagnostic(node, f"missing `{node.type}`", lines))
        elif node.is_error:
            found.append(_diagnostic(node, _error_message(node, source), lines))
        elif node.has_error:
            stack.extend(reversed(node.children))
    return found


def _error_message(node: tree_sitter.Node, source: bytes) -> str:
    text = source[node.start_byte : min(node.end_byte, node.start_byte + NEAR_CHARS * 4)]
    first_line = text.decode("utf-8", "replace").strip().split("\n", 1)[0]
    near = " ".join(first_line.split())[:NEAR_CHARS]
    return f"syntax error near `{near}`" if near else "syntax error"


def _diagnostic(node: tree_sitter.Node, message: str, lines: _LineStarts) -> Diagnostic:
    row, byte_column = node.start_point
    return Diagnostic(row + 1, lines.char_column(row, byte_column) + 1, None, message)


class _LineStarts:
    """tree-sitter counts columns in bytes; a diagnostic's column is in characters. Problems come in source
    order, so the line starts are found walking forwards once."""

    def __init__(self, source: bytes) -> None:
        self.source = source
        self.row = 0
        self.start = 0

    def char_column(self, row: int, byte_column: int) -> int:
        if row < self.row:
            self.row, self.start = 0, 0
        while self.row < row:
            following = self.source.find(b"\n", self.start)
            if following < 0:
                return byte_column
            self.row, self.start = self.row + 1, following + 1
        return len(self.source[self.start : self.start + byte_column].decode("utf-8", "replace"))


def _is_shell_transcript(code: str) -> bool:
    first = next((line for line in code.split("\n", 50)[:50] if line.strip()), "")
    return first.lstrip().startswith("$ ")
