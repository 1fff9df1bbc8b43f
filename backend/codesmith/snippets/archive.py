"""A zip of snippets ("Download all"): each under the file name the API and the raw download give it
(filenames.py, one rule everywhere), a repeated name numbered (`sort.py`, `sort-2.py`)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Sequence
from datetime import datetime

from codesmith.snippets.filenames import filename_for, split_extension
from codesmith.snippets.service import raw_text
from codesmith.snippets.tables import Snippet

# Zip entries carry a local time without a zone, and cannot be older than 1980.
_ZIP_EPOCH = datetime(1980, 1, 1)


def newest_first(snippets: Iterable[Snippet]) -> list[Snippet]:
    """A conversation's snippets for its archive: identical code once (its newest copy, as GET /snippets
    lists it), newest first, so the newest version of a file keeps the plain name."""
    ordered = sorted(snippets, key=lambda s: (s.created_at, s.id), reverse=True)
    seen: set[str] = set()
    kept = []
    for snippet in ordered:
        if snippet.code not in seen:
            seen.add(snippet.code)
            kept.append(snippet)
    return kept


def answer_order(snippets: Iterable[Snippet]) -> list[Snippet]:
    """One answer's snippets in the order of its code blocks."""
    return sorted(snippets, key=lambda snippet: snippet.position)


def entry_names(snippets: Sequence[Snippet]) -> list[str]:
    """Each snippet's file name, made unique within the archive by a number before the extension."""
    taken: set[str] = set()
    names = []
    for snippet in snippets:
        name = filename_for(snippet.title, snippet.language)
        stem, ext = split_extension(name)
        number = 1
        while name.lower() in taken:
            number += 1
            name = f"{stem}-{number}{ext}"
        taken.add(name.lower())
        names.append(name)
    return names


def zip_of(snippets: Sequence[Snippet]) -> bytes:
    """The archive, compressed, each file as GET /snippets/{id}/raw sends it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for snippet, name in zip(snippets, entry_names(snippets), strict=True):
            stamp = max(snippet.created_at.replace(tzinfo=None), _ZIP_EPOCH)
            entry = zipfile.ZipInfo(name, date_time=stamp.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16  # a plain file, readable by all: what unzip then creates
            archive.writestr(entry, raw_text(snippet))
    return buffer.getvalue()
