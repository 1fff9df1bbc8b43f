"""vLLM discovery: every model the configured vLLM server lists becomes a system model.

Refreshed at start-up and every CODESMITH_VLLM_REFRESH_SECONDS by a background task that never
blocks start-up. A model the server stops listing is marked unreachable, never deleted: history
and conversations keep pointing at it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import httpx2 as httpx
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from codesmith.config import Settings
from codesmith.db import utcnow
from codesmith.errors import AppError
from codesmith.llm.client import ChatClient
from codesmith.llm.pricing import DEFAULT_CONTEXT_WINDOW
from codesmith.llm.types import Endpoint
from codesmith.models.service import choose_default, system_model_id
from codesmith.models.tables import Model

logger = logging.getLogger("codesmith.models.discovery")

SOURCE = "vllm"


async def refresh(
    sessionmaker: async_sessionmaker[AsyncSession], llm: ChatClient, settings: Settings
) -> list[str] | None:
    """Sync the server's models into the registry: the ids of the models it lists, None when it is down."""
    if not settings.vllm_base_url:
        return None
    entries = await _list_server_models(llm, settings.vllm_base_url, settings.vllm_api_key)
    for attempt in range(2):
        try:
            async with sessionmaker() as session:
                listed = await apply(session, settings, entries)
                await session.commit()
            return listed
        except IntegrityError:
            # Another worker inserted the same new model first: the second pass finds it.
            if attempt:
                raise
    return None


async def _list_server_models(llm: ChatClient, base_url: str, api_key: str | None) -> list[dict[str, Any]] | None:
    try:
        return await llm.list_models(Endpoint(base_url=base_url, model="", api_key=api_key))
    except AppError as exc:
        logger.warning("vLLM server did not list its models", extra={"code": exc.code, "detail": exc.detail})
        return None


async def apply(session: AsyncSession, settings: Settings, entries: list[dict[str, Any]] | None) -> list[str] | None:
    """Upsert the listed base models (entries None: the server is down) and mark the others unreachable."""
    now = utcnow()
    known = {m.id: m for m in (await session.execute(select(Model).where(Model.source == SOURCE))).scalars()}
    adapters = await _adapter_names_on_the_server(session, settings)
    listed: list[str] = []
    for entry in entries or []:
        name = entry.get("id")
        # LoRA adapters appear in the list too (vLLM gives them a parent): they are their owners' models.
        if not isinstance(name, str) or not name or entry.get("parent") or name in adapters:
            continue
        model = known.get(system_model_id(SOURCE, name)) or _new_model(session, name)
        model.context_window = _context_window(entry)
        model.status, model.checked_at = "ok", now
        listed.append(model.id)
    for model_id, model in known.items():
        if model_id not in listed and model.status != "unreachable":
            model.status, model.checked_at = "unreachable", now
    await session.flush()
    await choose_default(session, settings, listed[0] if listed else None)
    return listed if entries is not None else None


def _new_model(session: AsyncSession, name: str) -> Model:
    # Self-hosted: no price per token (the cost is the GPU's), so the model is flagged unpriced.
    model = Model(
        id=system_model_id(SOURCE, name),
        owner_id=None,
        source=SOURCE,
        provider="vllm",
        name=name,
        model=name,
        base_url=None,  # the configured CODESMITH_VLLM_BASE_URL, never shown to users
        input_cost_per_mtok=None,
        output_cost_per_mtok=None,
        is_default=False,
        status="unknown",
    )
    session.add(model)
    return model


def _context_window(entry: dict[str, Any]) -> int:
    value = entry.get("max_model_len")
    return value if isinstance(value, int) and value > 0 else DEFAULT_CONTEXT_WINDOW


async def _adapter_names_on_the_server(session: AsyncSession, settings: Settings) -> set[str]:
    """The names of the LoRA adapters registered on the configured vLLM server, which lists them beside its
    base models. An adapter loaded on any other server hides nothing here: its name may be a system model's,
    and one user's registration must not take that model away from everyone."""
    server = _server_of(settings.vllm_base_url)
    if server is None:
        return set()
    rows = await session.execute(select(Model.model, Model.base_url).where(Model.lora_adapter.is_not(None)))
    # No base_url: an administrator's adapter on the configured server itself.
    return {name for name, base_url in rows if _server_of(base_url or settings.vllm_base_url) == server}


def _server_of(base_url: str | None) -> tuple[str, str, int | None, str] | None:
    """A base URL as the server it names: http://VLLM:80/v1/ and http://vllm/v1 are one server."""
    try:
        url = httpx.URL((base_url or "").strip())
    except httpx.InvalidURL:
        return None
    return (url.scheme, url.host, url.port, url.path.rstrip("/")) if url.host else None


# -- the background task ---------------------------------------------------------------------------
async def run_forever(sessionmaker: async_sessionmaker[AsyncSession], llm: ChatClient, settings: Settings) -> None:
    while True:
        try:
            await refresh(sessionmaker, llm, settings)
        except Exception:  # a database hiccup must not end discovery for the process's lifetime
            logger.exception("vLLM discovery failed")
        await asyncio.sleep(settings.vllm_refresh_seconds)


def start(
    sessionmaker: async_sessionmaker[AsyncSession], llm: ChatClient, settings: Settings
) -> asyncio.Task[None] | None:
    """The discovery task when CODESMITH_VLLM_BASE_URL is set: it runs beside start-up, never before it."""
    if not settings.vllm_base_url:
        return None
    return asyncio.create_task(run_forever(sessionmaker, llm, settings), name="vllm-discovery")


async def stop(task: asyncio.Task[None] | None) -> None:
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
