"""The model registry: system models from settings and the vLLM server, users' own, and resolution
of a model id into an endpoint the LLM client can call."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from codesmith.config import Settings
from codesmith.errors import MissingProviderKey, ModelUnavailable, NotFound
from codesmith.llm.pricing import DEFAULT_CONTEXT_WINDOW, price_of
from codesmith.llm.types import Endpoint
from codesmith.models.tables import Model
from codesmith.security import Keyring
from codesmith.users import service as users
from codesmith.users.tables import User

_SYSTEM_NAMESPACE = uuid.UUID("6f1c7c1e-58a4-4d1e-9a55-2d0f3c1b9a10")


def system_model_id(source: str, model: str) -> str:
    """Stable ids for system models, so a model keeps its id across restarts and refreshes."""
    return str(uuid.uuid5(_SYSTEM_NAMESPACE, f"{source}:{model}"))


@dataclass(frozen=True, slots=True)
class ResolvedModel:
    """A model ready to call: its endpoint, its context window and its prices (None: unpriced)."""

    id: str
    name: str
    provider: str
    endpoint: Endpoint
    context_window: int
    input_cost_per_mtok: float | None
    output_cost_per_mtok: float | None


def visible_to(user: User) -> ColumnElement[bool]:
    return or_(Model.owner_id.is_(None), Model.owner_id == user.id)


async def get_visible(session: AsyncSession, user: User, model_id: str) -> Model:
    """A system model or one of the caller's own; another user's answers 404."""
    result = await session.execute(select(Model).where(Model.id == model_id, visible_to(user)))
    model = result.scalar_one_or_none()
    if model is None:
        raise NotFound("model")
    return model


async def default_model(session: AsyncSession, user: User) -> Model:
    query = (
        select(Model)
        .where(visible_to(user))
        .order_by(Model.is_default.desc(), Model.owner_id.is_(None).desc(), Model.created_at)
        .limit(1)
    )
    model = (await session.execute(query)).scalar_one_or_none()
    if model is None:
        raise ModelUnavailable("No model is configured: register one under Models, or ask an administrator.")
    return model


async def resolve(
    session: AsyncSession,
    user: User,
    keyring: Keyring,
    settings: Settings,
    model_id: str | None,
) -> ResolvedModel:
    model = await get_visible(session, user, model_id) if model_id else await default_model(session, user)
    return ResolvedModel(
        id=model.id,
        name=model.name,
        provider=model.provider,
        endpoint=endpoint_for(model, user, keyring, settings),
        context_window=model.context_window,
        input_cost_per_mtok=model.input_cost_per_mtok,
        output_cost_per_mtok=model.output_cost_per_mtok,
    )


def endpoint_for(model: Model, user: User, keyring: Keyring, settings: Settings) -> Endpoint:
    own_key = keyring.decrypt(model.api_key_encrypted) if model.api_key_encrypted else None
    if model.provider == "openai":
        key = own_key or users.openai_key(user, keyring) or settings.openai_api_key
        if not key:
            raise MissingProviderKey(
                "This model needs an OpenAI API key: add yours in Settings "
                "(PUT /api/v1/users/me/openai-key), or pick a self-hosted model."
            )
        return Endpoint(base_url=model.base_url or settings.openai_base_url, model=model.model, api_key=key)
    if model.provider == "vllm" and model.owner_id is None:
        base_url = model.base_url or settings.vllm_base_url
        if not base_url:
            raise ModelUnavailable("The vLLM server is not configured (CODESMITH_VLLM_BASE_URL).")
        return Endpoint(base_url=base_url, model=model.model, api_key=own_key or settings.vllm_api_key)
    if not model.base_url:
        raise ModelUnavailable("This model has no base URL.")
    guarded = model.owner_id is not None and not settings.allow_private_model_hosts
    return Endpoint(base_url=model.base_url, model=model.model, api_key=own_key, guarded=guarded)


async def sync_settings_models(session: AsyncSession, settings: Settings) -> None:
    """Upsert the OpenAI models named in CODESMITH_OPENAI_MODELS as system models (prices from the table)."""
    for name in settings.openai_models:
        price = price_of(name)
        model_id = system_model_id("openai", name)
        model = await session.get(Model, model_id)
        if model is None:
            model = Model(id=model_id, source="settings", provider="openai", model=name, name=name)
            session.add(model)
        model.owner_id = None
        model.context_window = price.context_window if price else DEFAULT_CONTEXT_WINDOW
        model.input_cost_per_mtok = price.input_per_mtok if price else None
        model.output_cost_per_mtok = price.output_per_mtok if price else None
    await session.flush()
