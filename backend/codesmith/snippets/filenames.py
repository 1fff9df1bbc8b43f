"""A snippet's file name, one rule for the raw download and the API's `filename` (which the SPA uses):
the info string's filename, else the function or class name, else `snippet.<ext>`; always safe to save."""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import TYPE_CHECKING
from urllib.parse import quote

from codesmith.snippets.extract import extension_for

if TYPE_CHECKING:
    from codesmith.snippets.tables import Snippet

MAX_FILENAME_STEM = 80
_SPECIAL_FILES = {"dockerfile", "containerfile", "makefile"}
_UNSAFE = re.compile(r"[^\w.-]+")
_NAME_WITH_EXTENSION = re.compile(r"(?P<stem>[^\s()]+)(?P<ext>\.[A-Za-z0-9]{1,10})")
_FALLBACK_TITLE = re.compile(r"[\w#+.-]+ snippet \d+")
_IDENTIFIER = re.compile(r"[^\W\d][\w]*")


def download_filename(snippet: Snippet) -> str:
    """The snippet's file name: what `GET /snippets/{id}/raw` sends and SnippetPublic.filename says."""
    return filename_for(snippet.title, snippet.language)


@functools.lru_cache(maxsize=8192)
def filename_for(title: str, language: str | None) -> str:
    """A safe file name from the title (`def reverse_words(...)` -> `reverse_words.py`). Cached: every list
    page and detail names each of its snippets, and a detail may hold hundreds."""
    title = title.strip()
    base = title.replace("\\", "/").rsplit("/", 1)[-1]
    if base.lower() in _SPECIAL_FILES:
        return _safe_stem(base) or "snippet"
    stem, ext = split_extension(base)
    if not ext:
        stem, ext = _stem_of_title(title), extension_for(language)
    return (_safe_stem(stem) or "snippet") + ext


def split_extension(name: str) -> tuple[str, str]:
    match = _NAME_WITH_EXTENSION.fullmatch(name)
    return (match.group("stem"), match.group("ext").lower()) if match else (name, "")


def _stem_of_title(title: str) -> str:
    if _FALLBACK_TITLE.fullmatch(title):  # the fallback title: nothing to name the file
        return "snippet"
    if "(" in title:  # a signature: the name just before the parameters
        names = _IDENTIFIER.findall(title.split("(", 1)[0])
        if names:
            return str(names[-1])
    return title


def _safe_stem(stem: str) -> str:
    cleaned = _UNSAFE.sub("_", stem).strip("._-")
    return cleaned[:MAX_FILENAME_STEM].rstrip("._-")


def content_disposition(filename: str) -> str:
    """An attachment header; non-ASCII names travel in RFC 6266's filename*, with an ASCII fallback."""
    if filename.isascii():
        return f'attachment; filename="{filename}"'
    stem, ext = split_extension(filename)
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    fallback = (_safe_stem(ascii_stem) or "snippet") + ext
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
