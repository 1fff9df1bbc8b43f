"""The caller's snippets: list (search, language filter), one snippet, its code as a file, and deletion."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from codesmith.auth.deps import CurrentUser
from codesmith.db import SessionDep
from codesmith.pagination import CursorQuery, LimitQuery, Page
from codesmith.snippets import service
from codesmith.snippets.filenames import content_disposition, download_filename
from codesmith.snippets.schemas import SnippetPublic, snippet_fields

router = APIRouter(prefix="/snippets", tags=["snippets"])

SearchQuery = Annotated[
    str | None, Query(max_length=500, description="Words or code to find in the snippets' code and titles.")
]
LanguageQuery = Annotated[
    str | None, Query(max_length=40, description="Only this language (aliases work: py, ts, sh...).")
]


@router.get("", response_model=Page[SnippetPublic])
async def list_snippets(
    user: CurrentUser,
    session: SessionDep,
    q: SearchQuery = None,
    language: LanguageQuery = None,
    limit: LimitQuery = 20,
    cursor: CursorQuery = None,
) -> Page[SnippetPublic]:
    return await service.list_snippets(session, user, q=q, language=language, limit=limit, cursor=cursor)


@router.get("/{snippet_id}", response_model=SnippetPublic)
async def get_snippet(snippet_id: str, user: CurrentUser, session: SessionDep) -> SnippetPublic:
    return SnippetPublic.model_validate(snippet_fields(await service.get_owned(session, user, snippet_id)))


@router.get(
    "/{snippet_id}/raw",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "The code, as a file to save."}},
)
async def get_snippet_raw(snippet_id: str, user: CurrentUser, session: SessionDep) -> Response:
    snippet = await service.get_owned(session, user, snippet_id)
    return Response(
        service.raw_text(snippet),
        media_type="text/plain; charset=utf-8",
        headers={
            "Content-Disposition": content_disposition(download_filename(snippet)),
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.delete("/{snippet_id}", status_code=204)
async def delete_snippet(snippet_id: str, user: CurrentUser, session: SessionDep) -> Response:
    """Delete one of the caller's snippets: gone from lists and search (the answer's text stays)."""
    await service.delete_snippet(session, user, snippet_id)
    return Response(status_code=204)
