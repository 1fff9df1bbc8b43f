"""Fenced code blocks out of a Markdown answer: language (normalised), code and a short title.

Follows CommonMark's fence rules (``` or ~~~, three or more, closed by a fence of the same kind at least as
long, up to three spaces of indentation) and tolerates fences inside list items and blockquotes, where models
put them. `fenced_blocks` is the one fence parser: the guard's "does the answer contain code" asks it too.

Answers come from models, which are untrusted: every step here is linear in the answer's length. Patterns
are either plain string scanning or regexes in which no two quantifiers can match the same characters
(nested or adjacent ones that can backtrack into each other took seconds on one crafted line).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass

MAX_TITLE = 80
MAX_LANGUAGE = 40
# What titling reads: a title comes from the first lines, and from their starts.
TITLE_LINES = 60
TITLE_LINE_CHARS = 300
# A fence's info string is a language and perhaps a file name; shlex need not read a novel.
MAX_INFO_CHARS = 1000
# Blockquote markers read before a fence (`> > ```): more is not Markdown anyone writes.
MAX_QUOTE_DEPTH = 10

# Aliases seen in fence info strings -> the one name stored, filtered on and mapped to an extension.
_ALIASES = {
    "py": "python",
    "py3": "python",
    "python3": "python",
    "python2": "python",
    "pycon": "python",
    "ipython": "python",
    "js": "javascript",
    "node": "javascript",
    "nodejs": "javascript",
    "mjs": "javascript",
    "cjs": "javascript",
    "ecmascript": "javascript",
    "ts": "typescript",
    "mts": "typescript",
    "sh": "bash",
    "shell": "bash",
    "zsh": "bash",
    "console": "bash",
    "shellsession": "bash",
    "shell-session": "bash",
    "terminal": "bash",
    "yml": "yaml",
    "c++": "cpp",
    "cxx": "cpp",
    "cc": "cpp",
    "hpp": "cpp",
    "cs": "csharp",
    "c#": "csharp",
    "dotnet": "csharp",
    "golang": "go",
    "rs": "rust",
    "rb": "ruby",
    "kt": "kotlin",
    "kts": "kotlin",
    "ps1": "powershell",
    "ps": "powershell",
    "pwsh": "powershell",
    "psql": "sql",
    "postgres": "sql",
    "postgresql": "sql",
    "pgsql": "sql",
    "plpgsql": "sql",
    "mysql": "sql",
    "sqlite": "sql",
    "sqlite3": "sql",
    "tsql": "sql",
    "docker": "dockerfile",
    "containerfile": "dockerfile",
    "hcl": "terraform",
    "tf": "terraform",
    "md": "markdown",
    "htm": "html",
    "xhtml": "html",
    "jsonc": "json",
    "json5": "json",
    "objective-c": "objectivec",
    "objc": "objectivec",
    "f#": "fsharp",
    "fs": "fsharp",
    "hs": "haskell",
    "ex": "elixir",
    "exs": "elixir",
    "erl": "erlang",
    "clj": "clojure",
    "pl": "perl",
    "jl": "julia",
    "make": "makefile",
    "mk": "makefile",
    "bat": "batch",
    "cmd": "batch",
    "vb": "vbnet",
    "gql": "graphql",
    "proto": "protobuf",
    "patch": "diff",
    "tex": "latex",
    "plaintext": "text",
    "plain": "text",
    "txt": "text",
    "asm": "assembly",
    "nasm": "assembly",
    "sol": "solidity",
}

LANGUAGE_EXTENSIONS = {
    "python": ".py",
    "javascript": ".js",
    "typescript": ".ts",
    "tsx": ".tsx",
    "jsx": ".jsx",
    "bash": ".sh",
    "powershell": ".ps1",
    "batch": ".bat",
    "yaml": ".yaml",
    "json": ".json",
    "toml": ".toml",
    "ini": ".ini",
    "xml": ".xml",
    "html": ".html",
    "css": ".css",
    "scss": ".scss",
    "sass": ".sass",
    "less": ".less",
    "sql": ".sql",
    "c": ".c",
    "cpp": ".cpp",
    "csharp": ".cs",
    "java": ".java",
    "kotlin": ".kt",
    "scala": ".scala",
    "groovy": ".groovy",
    "go": ".go",
    "rust": ".rs",
    "ruby": ".rb",
    "php": ".php",
    "swift": ".swift",
    "objectivec": ".m",
    "dart": ".dart",
    "lua": ".lua",
    "perl": ".pl",
    "r": ".r",
    "julia": ".jl",
    "haskell": ".hs",
    "elixir": ".ex",
    "erlang": ".erl",
    "clojure": ".clj",
    "fsharp": ".fs",
    "ocaml": ".ml",
    "zig": ".zig",
    "nim": ".nim",
    "vbnet": ".vb",
    "dockerfile": ".dockerfile",
    "makefile": ".mk",
    "terraform": ".tf",
    "markdown": ".md",
    "latex": ".tex",
    "graphql": ".graphql",
    "protobuf": ".proto",
    "diff": ".diff",
    "vue": ".vue",
    "svelte": ".svelte",
    "solidity": ".sol",
    "assembly": ".asm",
    "csv": ".csv",
    "text": ".txt",
}
DEFAULT_EXTENSION = ".txt"

_DISPLAY_NAMES = {
    "javascript": "JavaScript",
    "typescript": "TypeScript",
    "tsx": "TSX",
    "jsx": "JSX",
    "powershell": "PowerShell",
    "yaml": "YAML",
    "json": "JSON",
    "toml": "TOML",
    "ini": "INI",
    "xml": "XML",
    "html": "HTML",
    "css": "CSS",
    "scss": "SCSS",
    "sql": "SQL",
    "c": "C",
    "cpp": "C++",
    "csharp": "C#",
    "php": "PHP",
    "objectivec": "Objective-C",
    "r": "R",
    "fsharp": "F#",
    "ocaml": "OCaml",
    "vbnet": "VB.NET",
    "graphql": "GraphQL",
    "latex": "LaTeX",
    "csv": "CSV",
}

# File extensions -> language, for info strings that name only a file (```app.py).
_EXTENSION_LANGUAGES = {ext: lang for lang, ext in LANGUAGE_EXTENSIONS.items()} | {
    ".yml": "yaml",
    ".h": "c",
    ".hpp": "cpp",
    ".cc": "cpp",
    ".cxx": "cpp",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".bash": "bash",
    ".zsh": "bash",
    ".htm": "html",
    ".kts": "kotlin",
    ".exs": "elixir",
    ".markdown": "markdown",
    ".pyw": "python",
}
_FILE_NAMES = {"dockerfile": "dockerfile", "containerfile": "dockerfile", "makefile": "makefile"}


@dataclass(frozen=True, slots=True)
class ExtractedSnippet:
    language: str | None
    code: str
    title: str


@dataclass(slots=True)
class _OpenFence:
    char: str
    length: int
    indent: int
    max_closer_indent: int
    quote_depth: int  # the `>` markers before it: a line with fewer ends the blockquote, and the block
    info: str
    lines: list[str]


_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_LIST_MARKER = re.compile(r"(?P<marker>[-+*]|\d{1,9}[.)])(?P<gap>[ \t]+|$)")
_FILENAME_PART = re.compile(r"[\w.@+-]+")
_FILE_EXTENSION = re.compile(r"[A-Za-z0-9]{1,10}")
_TITLE_KEYS = {"title", "filename", "file", "name", "path"}


def extract_snippets(markdown: str) -> list[ExtractedSnippet]:
    """One snippet per fenced code block with code in it, in order; an unclosed last fence still counts."""
    return _snippets(markdown, titled=True)


def extract_untitled_snippets(markdown: str) -> list[ExtractedSnippet]:
    """The same snippets numbered by language ("C snippet 1"): the fence parser alone, for when titling
    ran out of time."""
    return _snippets(markdown, titled=False)


def _snippets(markdown: str, *, titled: bool) -> list[ExtractedSnippet]:
    snippets: list[ExtractedSnippet] = []
    for info, code in fenced_blocks(markdown):
        if not code.strip():
            continue  # an empty block is no code to keep or download
        language, filename = parse_info_string(info)
        number = len(snippets) + 1
        if not titled:
            title = _numbered_title(language, number)
        elif filename:
            title = _truncate(filename)
        else:
            title = _title_from_code(code, language, number)
        snippets.append(ExtractedSnippet(language=language, code=code, title=title))
    return snippets


def fenced_blocks(markdown: str) -> Iterator[tuple[str, str]]:
    """(info string, code) of each fenced block, in order, empty ones included; an unclosed last fence
    counts. A generator: a caller that needs only the first block stops there."""
    fence: _OpenFence | None = None
    list_indent = 0  # content column of the list item we are in, so its fences count too
    for raw in _LINE_BREAK.split(markdown):
        if fence is not None:
            depth, line = _unquote(raw, fence.quote_depth)
            if depth < fence.quote_depth:  # the blockquote holding the block ended, and the block with it
                yield fence.info, _block_code(fence.lines)
                fence = None
            elif _closes(line, fence):
                yield fence.info, _block_code(fence.lines)
                fence = None
                continue
            else:
                fence.lines.append(_strip_indent(line, fence.indent))
                continue
        depth, line = _unquote(raw, MAX_QUOTE_DEPTH)
        fence, list_indent = _scan_outside(line, list_indent)
        if fence is not None:
            fence.quote_depth = depth
    if fence is not None:
        yield fence.info, _block_code(fence.lines)


def _unquote(line: str, most: int) -> tuple[int, str]:
    """The line without up to `most` blockquote markers (`>`, after up to three spaces, and one space after
    it), and how many it had. Index arithmetic: one pass, however many markers."""
    depth, index, length = 0, 0, len(line)
    while depth < most:
        marker = index
        while marker < length and marker - index < 4 and line[marker] == " ":
            marker += 1
        if marker >= length or line[marker] != ">" or marker - index > 3:
            break
        index = marker + 1
        if index < length and line[index] == " ":
            index += 1
        depth += 1
    return depth, line[index:] if index else line


def _scan_outside(line: str, list_indent: int) -> tuple[_OpenFence | None, int]:
    """A fence opened by this line (if any), and the list content column after it."""
    expanded = _expand_leading_tabs(line)
    text = expanded.lstrip(" ")
    indent = len(expanded) - len(text)
    if not text:
        return None, list_indent
    if indent > list_indent + 3:
        return None, list_indent  # an indented code block, not a fence
    marker = _LIST_MARKER.match(text)
    if marker:
        gap = len(marker.group("gap"))
        content = indent + len(marker.group("marker")) + (gap if 0 < gap <= 4 else 1)
        return _opening(expanded[content:], content, content), content
    if indent == 0:
        list_indent = 0  # a paragraph at the margin ends any list
    return _opening(text, indent, list_indent), list_indent


def _opening(text: str, indent: int, container: int) -> _OpenFence | None:
    char = text[:1]
    if char not in ("`", "~"):
        return None
    length = len(text) - len(text.lstrip(char))
    if length < 3:
        return None
    info = text[length:].strip()
    if char == "`" and "`" in info:
        return None  # ```code``` on one line is inline code, not a fence
    return _OpenFence(char, length, indent, container + 3, 0, info, [])


def _closes(line: str, fence: _OpenFence) -> bool:
    expanded = _expand_leading_tabs(line)
    text = expanded.lstrip(" ")
    if len(expanded) - len(text) > fence.max_closer_indent:
        return False
    run = len(text) - len(text.lstrip(fence.char))
    return run >= fence.length and not text[run:].strip(" \t")


def _expand_leading_tabs(line: str) -> str:
    stripped = line.lstrip(" \t")
    if "\t" not in line[: len(line) - len(stripped)]:
        return line
    return line[: len(line) - len(stripped)].expandtabs(4) + stripped


def _strip_indent(line: str, indent: int) -> str:
    if indent == 0:
        return line
    expanded = _expand_leading_tabs(line)
    removable = len(expanded) - len(expanded.lstrip(" "))
    return expanded[min(indent, removable) :]


def _block_code(lines: list[str]) -> str:
    start, end = 0, len(lines)
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return "\n".join(lines[start:end])


# Info strings -------------------------------------------------------------------------------------------


def normalize_language(tag: str | None) -> str | None:
    """The stored name for a fence's language tag (py -> python); None when there is none."""
    if not tag:
        return None
    name = tag.strip().lower()
    name = name.removeprefix("language-").removeprefix("lang-").lstrip(".")
    name = re.sub(r"[^a-z0-9+#._-]", "", name)[:MAX_LANGUAGE]
    if not name:
        return None
    return _ALIASES.get(name, name)


def parse_info_string(info: str) -> tuple[str | None, str | None]:
    """The language and the file name a fence's info string gives (```python title="app.py" {1,3})."""
    tokens = _info_tokens(info[:MAX_INFO_CHARS])
    language: str | None = None
    filename: str | None = None
    for position, token in enumerate(tokens):
        key, sep, value = token.partition("=")
        if sep and key.lower() in _TITLE_KEYS:
            filename = filename or value.strip("\"'") or None
        elif position == 0 and not sep:
            language, filename = _first_token(token, filename)
        elif not sep and is_filename(token):
            filename = filename or token  # ```python app.py
    if language is None and filename:
        language = _language_of_file(filename)
    return language, filename


def _info_tokens(info: str) -> list[str]:
    # Attribute braces ({.python title="x"} or {1,3-5}) hold tokens like any others.
    cleaned = info.replace("{", " ").replace("}", " ")
    try:
        tokens = shlex.split(cleaned)
    except ValueError:  # an unbalanced quote: fall back to whitespace
        tokens = cleaned.split()
    return [token for token in tokens if not re.fullmatch(r"[\d,\s-]+", token)]


def _first_token(token: str, filename: str | None) -> tuple[str | None, str | None]:
    tag, colon, path = token.partition(":")  # ```python:app.py
    if colon and path and is_filename(path):
        return normalize_language(tag), filename or path
    if is_filename(token) and _language_of_file(token):
        return _language_of_file(token), filename or token  # ```app.py
    return normalize_language(token), filename


def is_filename(text: str) -> bool:
    """`src/app.py`: word characters and .@+- in /-separated parts, the first starting with a word character,
    and an extension of 1 to 10 ASCII letters or digits."""
    stem, dot, extension = text.rpartition(".")
    if not dot or not stem or not _FILE_EXTENSION.fullmatch(extension):
        return False
    first = stem[0]
    if not (first.isalnum() or first == "_"):  # \w: what str.isalnum() says, and the underscore
        return False
    return all(_FILENAME_PART.fullmatch(part) for part in stem.split("/"))


def _language_of_file(filename: str) -> str | None:
    base = filename.rsplit("/", 1)[-1].lower()
    if base in _FILE_NAMES:
        return _FILE_NAMES[base]
    dot = base.rfind(".")
    return _EXTENSION_LANGUAGES.get(base[dot:]) if dot > 0 else None


# Titles -------------------------------------------------------------------------------------------------

_COMMENT_PREFIXES = ("#", "//", "--", "/*", "*", "<!--", ";", "%", "rem ", "REM ", "'")
_BLOCK_COMMENTS = {"/*": "*/", "<!--": "-->", '"""': '"""', "'''": "'''"}
_BOILERPLATE = re.compile(
    r"^(?:import\b|from\s+\S+\s+import\b|package\b|using\b|use\s|require\b|include\b|extern\s+crate\b"
    r"|@|#!|\"use strict\"|'use strict'|<\?php|<\?xml|<!doctype|library\b|namespace\s+[^\s;]+;"
    r"|(?:const|let|var)\s+[^\s=]+\s*=\s*require\()",
    re.IGNORECASE,
)
# Every quantifier below is followed by a literal or a class it cannot match, so none backtracks into another.
_MODIFIERS = (
    r"(?:(?:export|default|public|private|protected|internal|static|final|abstract|async|pub(?:\([^)]*\))?"
    r"|extern|inline|virtual|override|open|data|sealed|unsafe|const|partial|suspend)\s+)*"
)
_DEFINITION = re.compile(
    r"^" + _MODIFIERS + r"(?:def|class|function\*?|func|fn|fun|interface|struct|enum|trait|impl|object"
    r"|record|type|protocol|extension|proc|sub|defn|defmodule|module|macro_rules!)\s+[\w$<(]"
    r"|^" + _MODIFIERS + r"(?:const|let|var)\s+[\w$]+\s*(?::[^=]+)?=\s*(?:async\b\s*)?"
    r"(?:function\b|\([^)]*\)\s*(?::[^=]+)?=>|[\w$]+\s*=>)"
    r"|^create\s+(?:or\s+replace\s+)?(?:table|view|function|procedure|index|trigger|type)\b",
    re.IGNORECASE,
)
# `int main(void) {`, read by is_c_signature: return type, name, parameters. Only asked of the C family,
# where SQL cannot be.
_C_TYPE_WORD = re.compile(r"[\w:<>,*&\[\]]+")
_C_NAME = re.compile(r"[\w:~]+")
_C_FAMILY = {"c", "cpp", "csharp", "java", "objectivec", "dart", "kotlin", "scala", "groovy"}
_NOT_DEFINITIONS = re.compile(r"^(?:return|if|else|for|while|switch|catch|new|throw|await|echo|print)\b")
_COMMENT_MARKERS = ("<!--", "/*", "//", "--", "#", ";")
_COMMENT_CLOSERS = ("*/", "-->")
_FILE_LABELS = ("file", "filename")


def _title_from_code(code: str, language: str | None, number: int) -> str:
    # Bounded before any pattern sees it: a title needs the first lines, and the start of each.
    lines = [line.strip()[:TITLE_LINE_CHARS] for line in code.split("\n", TITLE_LINES)[:TITLE_LINES]]
    named = _file_named_in_first_comment(lines)
    if named:
        return _truncate(named)
    meaningful = _meaningful_lines(lines, language)
    definition = next((line for line in meaningful if _is_definition(line, language)), None)
    if definition:
        return _truncate(_shorten_signature(definition))
    if meaningful:
        return _truncate(meaningful[0].rstrip("{:;").rstrip())
    return _numbered_title(language, number)


def _numbered_title(language: str | None, number: int) -> str:
    return f"{display_name(language)} snippet {number}"


def _file_named_in_first_comment(lines: list[str]) -> str | None:
    first = next((line for line in lines if line), "")
    return file_named_in_comment(first)


def file_named_in_comment(line: str) -> str | None:
    """`// server.js`, `# file: app.py`, `<!-- index.html -->`: the file a one-line comment names, if any."""
    marker = next((mark for mark in _COMMENT_MARKERS if line.startswith(mark)), None)
    if marker is None:
        return None
    body = line[len(marker) :]
    closer = next((mark for mark in _COMMENT_CLOSERS if body.endswith(mark)), "")
    body = body[: len(body) - len(closer)].strip()
    label, colon, rest = body.partition(":")
    if colon and label.rstrip() in _FILE_LABELS:
        body = rest.strip()
    return body if is_filename(body) else None


def _meaningful_lines(lines: list[str], language: str | None) -> list[str]:
    """Lines that say what the code does: no blanks, comments, imports, decorators or docstrings."""
    if language == "markdown":
        headings = (line.lstrip("#").strip() for line in lines if not line.startswith(("```", "~~~")))
        return [line for line in headings if line]
    found: list[str] = []
    closer: str | None = None
    for line in lines:
        if closer is not None:
            if closer in line:
                closer = None
            continue
        opener = next((mark for mark in _BLOCK_COMMENTS if line.startswith(mark)), None)
        if opener and _BLOCK_COMMENTS[opener] not in line[len(opener) :]:
            closer = _BLOCK_COMMENTS[opener]
            continue
        if opener or not line or line.startswith(_COMMENT_PREFIXES) or _BOILERPLATE.match(line):
            continue
        if line.endswith("(") and line.split()[0] == "import":
            closer = ")"  # Go's import ( ... ) block
            continue
        if any(char.isalnum() for char in line):
            found.append(line)
    return found


def _is_definition(line: str, language: str | None) -> bool:
    if _NOT_DEFINITIONS.match(line):
        return False
    return bool(_DEFINITION.match(line)) or (language in _C_FAMILY and is_c_signature(line))


def is_c_signature(line: str) -> bool:
    """`static std::vector<int> *Foo::bar(int x) const {`: type words, a name, then `(` and no `;` after it
    (a declaration or a call ends in one)."""
    paren = line.find("(")
    if paren <= 0 or ";" in line[paren:] or line[0].isspace():
        return False
    *types, name = line[:paren].split()  # the head, up to the parameters; it holds no `(`
    return (
        bool(types)
        and all(_C_TYPE_WORD.fullmatch(word) for word in types)
        and bool(_C_NAME.fullmatch(name.lstrip("*")))
    )


def _shorten_signature(line: str) -> str:
    """`def reverse_words(text: str) -> str:` -> `def reverse_words(...)`."""
    paren = line.find("(")
    if line[:6].lower() == "create":
        paren = paren if paren > 0 else len(line)
        return line[:paren].rstrip()  # CREATE TABLE users (
    if paren <= 0:
        return line.rstrip("{:;=").rstrip()
    head = line[:paren].rstrip()
    if head.endswith("="):
        return f"{head} (...) =>"  # const add = (a, b) => ...
    closing = line.find(")", paren)
    empty = closing != -1 and not line[paren + 1 : closing].strip()
    return f"{head}()" if empty else f"{head}(...)"


def _truncate(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_TITLE else text[: MAX_TITLE - 1].rstrip() + "…"


def display_name(language: str | None) -> str:
    if not language:
        return "Code"
    return _DISPLAY_NAMES.get(language, language[:1].upper() + language[1:])


def extension_for(language: str | None) -> str:
    return LANGUAGE_EXTENSIONS.get(language or "", DEFAULT_EXTENSION)
