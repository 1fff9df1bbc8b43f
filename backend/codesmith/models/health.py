"""Re-checks unreachable models in the background, so "Unreachable" clears once a server is back.

vLLM-discovered models are left to discovery, which lists their server anyway. A model that is still
down keeps its status and its last checked_at: only a change is written.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from codesmith.config import Settings
from codesmith.db import utcnow
from codesmith.errors import AppError
from codesmith.llm.client import ChatClient
from codesmith.llm.types import Endpoint
from codesmith.models import discovery
from codesmith.models.service import endpoint_for, probe
from codesmith.models.tables import Model
from codesmith.security import Keyring
from codesmith.users.tables import User

logger = logging.getLogger("codesmith.models.health")

RECHECK_SECONDS = 60.0
MAX_MODELS_PER_ROUND = 50


async def recheck_unreachable(
    sessionmaker: async_sessionmaker[AsyncSession], llm: ChatClient, settings: Settings, keyring: Keyring
) -> dict[str, str]:
    """Ask the server of every unreachable model again; returns {model id: new status} for those that changed."""
    async with sessionmaker() as session:
        query = (
            select(Model)
            .where(Model.status == "unreachable", Model.source != discovery.SOURCE)
            .order_by(Model.checked_at)
            .limit(MAX_MODELS_PER_ROUND)
        )
        models = list((await session.execute(query)).scalars())
        endpoints: dict[str, Endpoint] = {}
        for model in models:
            # A system model is asked with the server's keys only, never a user's.
            owner = await session.get(User, model.owner_id) if model.owner_id else None
            try:
                endpoints[model.id] = endpoint_for(model, owner or User(), keyring, settings)
            except AppError:
                continue
    # No session is held open while servers are asked.
    changed: dict[str, str] = {}
    for model_id, endpoint in endpoints.items():
        result = await probe(llm, endpoint)
        if result.status != "unreachable":
            changed[model_id] = result.status
    if changed:
        async with sessionmaker() as session:
            now = utcnow()
            for model_id, status in changed.items():
                await session.execute(
                    update(Model)
                    .where(Model.id == model_id, Model.status == "unreachable")
                    .values(status=status, checked_at=now)
                )
            await session.commit()
    return changed


async def run_forever(
    sessionmaker: async_sessionmaker[AsyncSession],
    llm: ChatClient,
    settings: Settings,
    keyring: Keyring,
    interval: float = RECHECK_SECONDS,
) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            await recheck_unreachable(sessionmaker, llm, settings, keyring)
        except Exception:  # a database hiccup must not end re-checking for the process's lifetime
            logger.exception("re-checking unreachable models failed")


def start(
    sessionmaker: async_sessionmaker[AsyncSession],
    llm: ChatClient,
    settings: Settings,
    keyring: Keyring,
    interval: float = RECHECK_SECONDS,
) -> asyncio.Task[None]:
    return asyncio.create_task(run_forever(sessionmaker, llm, settings, keyring, interval), name="model-recheck")


stop = discovery.stop
