"""The model registry: system models from settings and the vLLM server, users' own, and resolution
of a model id into an endpoint the LLM client can call."""

from __future__ import annotations

import base64
import binascii
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx2 as httpx
import openai
import orjson
from sqlalchemy import ColumnElement, or_, select
from sqlalchemy import update as sa_update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from codesmith.admin import audit
from codesmith.config import Settings
from codesmith.db import utcnow
from codesmith.errors import (
    AppError,
    Forbidden,
    MissingProviderKey,
    ModelUnavailable,
    NotFound,
    UpstreamError,
    UpstreamUnauthorized,
    ValidationFailed,
)
from codesmith.llm import ssrf
from codesmith.llm.client import ChatClient
from codesmith.llm.errors import map_exception, scrub
from codesmith.llm.pricing import DEFAULT_CONTEXT_WINDOW, price_of
from codesmith.llm.types import Endpoint
from codesmith.metrics import USER_MODELS
from codesmith.models.schemas import ModelCheck, ModelCreate, ModelPublic, ModelStatus, ModelUpdate
from codesmith.models.tables import Model
from codesmith.pagination import Page
from codesmith.security import Keyring
from codesmith.users import service as users
from codesmith.users.tables import User

logger = logging.getLogger("codesmith.models")

# Loading an adapter may first download it from the Hugging Face hub.
LORA_TIMEOUT_SECONDS = 300.0
MAX_NAMES_IN_DETAIL = 10

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
    paid_by_server: bool = False  # called with a key of the server's, not the user's own
    owned_by_user: bool = False
    known_ok: bool = False  # its last check, or its last generation, found it answering

    @property
    def metric_labels(self) -> tuple[str, str]:
        """(provider, model) for metrics: a system model by its upstream name, a user's model by a bucket."""
        return self.provider, USER_MODELS if self.owned_by_user else self.endpoint.model


def visible_to(user: User) -> ColumnElement[bool]:
    return or_(Model.owner_id.is_(None), Model.owner_id == user.id)


async def get_visible(session: AsyncSession, user: User, model_id: str) -> Model:
    """A system model or one of the caller's own; another user's answers 404."""
    result = await session.execute(select(Model).where(Model.id == model_id, visible_to(user)))
    model = result.scalar_one_or_none()
    if model is None:
        raise NotFound("model")
    return model


async def default_model(session: AsyncSession, user: User, settings: Settings) -> Model:
    """The user's default (see `user_default`); when no model is usable, the system default anyway, so the
    error names what is missing (a key, a server)."""
    rows = await _visible_sorted(session, user)
    model = user_default(rows, user, settings) or next(iter(rows), None)
    if model is None:
        raise ModelUnavailable("No model is configured: register one under Models, or ask an administrator.")
    return model


def is_usable(model: Model, user: User, settings: Settings) -> bool:
    """Whether the user can call the model: a key where it needs one, and a server to send it to (the same
    rules as `endpoint_for`, without decrypting anything)."""
    if model.provider == "openai":
        return bool(model.api_key_encrypted or user.openai_key_encrypted or settings.openai_api_key)
    if model.provider == "vllm" and model.owner_id is None:
        return bool(model.base_url or settings.vllm_base_url)
    return bool(model.base_url)


def user_default(rows: list[Model], user: User, settings: Settings) -> Model | None:
    """Of the user's visible models (in listing order): the last one used while it is usable, else the system
    default when usable, else the first usable one; None when none is."""
    usable = [model for model in rows if is_usable(model, user, settings)]
    last = next((model for model in usable if model.id == user.last_model_id), None)
    return last or next((model for model in usable if model.is_default), None) or next(iter(usable), None)


async def remember_model(session: AsyncSession, user: User, model_id: str) -> None:
    """Called as a generation starts: the model becomes the user's default while it stays usable."""
    await users.remember_model(session, user, model_id)


async def visible(session: AsyncSession, user: User) -> list[Model]:
    """Every model the user sees (system ones and their own), in the order `GET /models` lists them."""
    return await _visible_sorted(session, user)


async def _visible_sorted(session: AsyncSession, user: User) -> list[Model]:
    return sorted((await session.execute(select(Model).where(visible_to(user)))).scalars(), key=_listing_key)


async def resolve(
    session: AsyncSession,
    user: User,
    keyring: Keyring,
    settings: Settings,
    model_id: str | None,
) -> ResolvedModel:
    model = await get_visible(session, user, model_id) if model_id else await default_model(session, user, settings)
    return resolved(model, user, keyring, settings)


def resolved(model: Model, user: User, keyring: Keyring, settings: Settings) -> ResolvedModel:
    """A model row the user may use, ready to call."""
    endpoint = endpoint_for(model, user, keyring, settings)
    return ResolvedModel(
        id=model.id,
        name=model.name,
        provider=model.provider,
        endpoint=endpoint,
        context_window=model.context_window,
        input_cost_per_mtok=model.input_cost_per_mtok,
        output_cost_per_mtok=model.output_cost_per_mtok,
        paid_by_server=_paid_by_server(model, endpoint, user, keyring),
        owned_by_user=model.owner_id is not None,
        known_ok=model.status == "ok",
    )


def _paid_by_server(model: Model, endpoint: Endpoint, user: User, keyring: Keyring) -> bool:
    """A system model priced per token, called with a key that is not the user's own (self-hosted vLLM
    models cost GPU hours, not tokens)."""
    if model.owner_id is not None or model.provider == "vllm" or not endpoint.api_key:
        return False
    return endpoint.api_key != users.openai_key(user, keyring)


def endpoint_for(model: Model, user: User, keyring: Keyring, settings: Settings) -> Endpoint:
    own_key = keyring.decrypt(model.api_key_encrypted) if model.api_key_encrypted else None
    if model.provider == "openai":
        key = own_key or users.openai_key(user, keyring) or settings.openai_api_key
        if not key:
            raise MissingProviderKey(
                "This model needs an OpenAI API key: add your key in Settings, or pick a self-hosted model."
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
    """Upsert the OpenAI models named in CODESMITH_OPENAI_MODELS as system models (prices from the table),
    and choose the default model."""
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
    await choose_default(session, settings)


async def sync_settings_models_at_start(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> None:
    """sync_settings_models in its own transaction. Replicas starting together insert the same rows: the
    one that loses the race finds them on its second try."""
    for attempt in range(1, 4):
        try:
            async with sessionmaker() as session:
                await sync_settings_models(session, settings)
                await session.commit()
            return
        except IntegrityError:
            if attempt == 3:
                raise
            logger.info("settings models written by another replica meanwhile: again")


async def choose_default(session: AsyncSession, settings: Settings, first_vllm_id: str | None = None) -> None:
    """Mark one system model the default: the vLLM server's first answering model when vLLM is configured
    (first_vllm_id: the first one it just listed), else the first of CODESMITH_OPENAI_MODELS."""
    system = list((await session.execute(select(Model).where(Model.owner_id.is_(None)))).scalars())
    chosen = _pick_default(system, settings, first_vllm_id)
    if chosen is None:
        return  # nothing better: keep the current default
    for model in system:
        if model.is_default != (model is chosen):
            model.is_default = model is chosen
    await session.flush()


def _pick_default(system: list[Model], settings: Settings, first_vllm_id: str | None) -> Model | None:
    by_id = {model.id: model for model in system}
    if settings.vllm_base_url:
        if first_vllm_id in by_id:
            return by_id[first_vllm_id]
        answering = [m for m in system if m.source == "vllm" and m.status == "ok"]
        if answering:
            return min(answering, key=lambda m: (m.created_at, m.model))
    for name in settings.openai_models:
        if (model := by_id.get(system_model_id("openai", name))) is not None:
            return model
    return None


# -- the API's view ------------------------------------------------------------------------------
async def public(session: AsyncSession, user: User, settings: Settings, model: Model) -> ModelPublic:
    """One model as the user sees it (whether it is the user's default and usable)."""
    default = user_default(await _visible_sorted(session, user), user, settings)
    return to_public(model, usable=is_usable(model, user, settings), is_default=default is model)


def to_public(model: Model, *, usable: bool, is_default: bool) -> ModelPublic:
    return ModelPublic(
        id=model.id,
        name=model.name,
        provider=model.provider,
        model=model.model,
        base_url=model.base_url,
        context_window=model.context_window,
        input_cost_per_mtok=model.input_cost_per_mtok,
        output_cost_per_mtok=model.output_cost_per_mtok,
        priced=model.input_cost_per_mtok is not None and model.output_cost_per_mtok is not None,
        owner="system" if model.owner_id is None else "user",
        is_default=is_default,
        usable=usable,
        has_api_key=model.api_key_encrypted is not None,
        lora_adapter=model.lora_adapter,
        status=model.status,
        checked_at=model.checked_at,
    )


async def list_visible(
    session: AsyncSession, user: User, settings: Settings, *, limit: int, cursor: str | None
) -> Page[ModelPublic]:
    """System models first (the system default first), then the caller's own, newest first; `is_default`
    marks the user's own default (`user_default`).

    A user has few models, so the page is cut from the sorted list; the cursor is an offset.
    """
    rows = await _visible_sorted(session, user)
    default = user_default(rows, user, settings)
    start = _decode_offset(cursor)
    end = start + limit
    return Page(
        items=[
            to_public(model, usable=is_usable(model, user, settings), is_default=model is default)
            for model in rows[start:end]
        ],
        next_cursor=_encode_offset(end) if end < len(rows) else None,
    )


def _listing_key(model: Model) -> tuple[int, int, float, str]:
    stamp = model.created_at.timestamp()
    if model.owner_id is None:
        return (0, 0 if model.is_default else 1, stamp, model.name)
    return (1, 0, -stamp, model.name)


def _encode_offset(offset: int) -> str:
    return base64.urlsafe_b64encode(orjson.dumps({"offset": offset})).decode().rstrip("=")


def _decode_offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        offset = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))["offset"]
    except (binascii.Error, ValueError, TypeError, KeyError, orjson.JSONDecodeError):
        offset = None
    if not isinstance(offset, int) or offset < 0:
        raise ValidationFailed("The cursor is not valid.", loc=["query", "cursor"])
    return offset


async def get_editable(session: AsyncSession, user: User, model_id: str) -> Model:
    """A model the caller may change: their own, or (administrators) a system model."""
    model = await get_visible(session, user, model_id)
    if model.owner_id is None and not user.is_admin:
        raise Forbidden("System models can only be changed by an administrator.")
    return model


# -- registration --------------------------------------------------------------------------------
async def create(
    session: AsyncSession,
    user: User,
    keyring: Keyring,
    settings: Settings,
    llm: ChatClient,
    data: ModelCreate,
) -> Model:
    """Register a model; with a LoRA adapter, its server loads it first (nothing is stored if that fails)."""
    if data.system and not user.is_admin:
        raise Forbidden("Only an administrator can add system models.")
    _check_shape(data.provider, data.base_url, data.lora_adapter, settings, system=data.system)
    if data.base_url:
        await ssrf.check_base_url(data.base_url, allow_private=private_hosts_allowed(settings, system=data.system))
    price = price_of(data.model) if data.provider == "openai" else None
    model = Model(
        owner_id=None if data.system else user.id,
        source="admin" if data.system else "user",
        name=data.name,
        provider=data.provider,
        model=data.model,
        base_url=data.base_url,
        api_key_encrypted=keyring.encrypt(data.api_key.strip()) if data.api_key else None,
        context_window=data.context_window or (price.context_window if price else DEFAULT_CONTEXT_WINDOW),
        input_cost_per_mtok=_given_or(data.input_cost_per_mtok, price.input_per_mtok if price else None),
        output_cost_per_mtok=_given_or(data.output_cost_per_mtok, price.output_per_mtok if price else None),
        lora_adapter=data.lora_adapter,
        is_default=False,
        status="unknown",
    )
    _check_prices(model)
    if data.lora_adapter:
        await load_lora(llm, endpoint_for(model, user, keyring, settings), data.lora_adapter)
        model.status, model.checked_at = "ok", utcnow()
    else:
        await _check_on_save(llm, model, user, keyring, settings, take_window=data.context_window is None)
    session.add(model)
    await session.flush()
    if model.owner_id is None:
        fields = {"name", "provider", "model", "base_url", "context_window", "lora_adapter"}
        _audit_system_model(session, user, "model.create", model, fields, key_changed=data.api_key is not None)
    return model


def _audit_system_model(
    session: AsyncSession, admin: User, action: str, model: Model, fields: set[str], *, key_changed: bool
) -> None:
    """An administrator's change to a system model, in the audit log: the fields' new values, never the key."""
    details: dict[str, Any] = {"name": model.name}
    for field in sorted(fields - {"api_key"}):
        value = getattr(model, field)
        details[field] = _without_credentials(value) if field == "base_url" else value
    if key_changed:
        details["api_key"] = "changed"
    audit.record(session, admin, action, "model", model.id, details)


def _without_credentials(url: str | None) -> str | None:
    # A base URL may carry a user and password (http://user:secret@host/v1): the log keeps only the host.
    if url is None:
        return None
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def _given_or(given: float | None, known: float | None) -> float | None:
    return given if given is not None else known


def _check_shape(
    provider: str, base_url: str | None, lora_adapter: str | None, settings: Settings, *, system: bool
) -> None:
    if provider == "openai":
        if base_url is not None:
            # An OpenAI model may be used with the server's own key: it must only ever go to OpenAI.
            raise ValidationFailed(
                "An openai model always uses the server's OpenAI URL; register any other server "
                "as provider openai_compatible.",
                loc=["body", "base_url"],
            )
        if lora_adapter is not None:
            raise ValidationFailed(
                "LoRA adapters are loaded by a vLLM server: use provider vllm or openai_compatible.",
                loc=["body", "lora_adapter"],
            )
        return
    if base_url is None and not (system and provider == "vllm" and settings.vllm_base_url):
        raise ValidationFailed(
            f"A {provider} model needs the server's base_url (such as http://vllm:8000/v1).",
            loc=["body", "base_url"],
        )


def _check_prices(model: Model) -> None:
    if (model.input_cost_per_mtok is None) != (model.output_cost_per_mtok is None):
        raise ValidationFailed(
            "Give both input_cost_per_mtok and output_cost_per_mtok, or neither (an unpriced model).",
            loc=["body", "output_cost_per_mtok" if model.output_cost_per_mtok is None else "input_cost_per_mtok"],
        )


async def update(
    session: AsyncSession,
    user: User,
    keyring: Keyring,
    settings: Settings,
    model_id: str,
    data: ModelUpdate,
    *,
    llm: ChatClient | None = None,
) -> Model:
    """Change the fields given; a new server, upstream model name or key checks the model again (with `llm`;
    without it the status is reset to unknown)."""
    model = await get_editable(session, user, model_id)
    given = data.model_fields_set
    for field in ("name", "model", "context_window"):
        if field in given and getattr(data, field) is None:
            raise ValidationFailed(f"{field} cannot be null.", loc=["body", field])
    moved = ("base_url" in given and data.base_url != model.base_url) or (
        data.model is not None and data.model != model.model
    )
    if moved and model.lora_adapter:
        raise ValidationFailed(
            "A LoRA model's server and name cannot change: delete it and register it again.",
            loc=["body", "base_url" if "base_url" in given else "model"],
        )
    if "base_url" in given and data.base_url != model.base_url:
        _check_shape(model.provider, data.base_url, None, settings, system=model.owner_id is None)
        if data.base_url:
            allow_private = private_hosts_allowed(settings, system=model.owner_id is None)
            await ssrf.check_base_url(data.base_url, allow_private=allow_private)
        model.base_url = data.base_url
    _apply_changes(model, data, given, keyring)
    _check_prices(model)
    if moved:
        model.status, model.checked_at = "unknown", None
    if llm is not None and (moved or "api_key" in given):
        take_window = moved and "context_window" not in given
        await _check_on_save(llm, model, user, keyring, settings, take_window=take_window)
    await session.flush()
    if model.owner_id is None:
        _audit_system_model(session, user, "model.update", model, set(given), key_changed="api_key" in given)
    return model


def _apply_changes(model: Model, data: ModelUpdate, given: set[str], keyring: Keyring) -> None:
    if data.name is not None:
        model.name = data.name
    if data.model is not None:
        model.model = data.model
    if data.context_window is not None:
        model.context_window = data.context_window
    if "api_key" in given:
        model.api_key_encrypted = keyring.encrypt(data.api_key.strip()) if data.api_key else None
    if "input_cost_per_mtok" in given:
        model.input_cost_per_mtok = data.input_cost_per_mtok
    if "output_cost_per_mtok" in given:
        model.output_cost_per_mtok = data.output_cost_per_mtok


async def delete(
    session: AsyncSession, user: User, keyring: Keyring, settings: Settings, llm: ChatClient, model_id: str
) -> None:
    """Delete a model (its LoRA adapter is unloaded, best effort); history keeps the model's name."""
    model = await get_editable(session, user, model_id)
    if model.lora_adapter:
        await _unload_quietly(llm, model, user, keyring, settings)
    if model.owner_id is None:
        _audit_system_model(session, user, "model.delete", model, {"model", "base_url"}, key_changed=False)
    was_default = model.is_default
    await session.delete(model)
    await session.flush()
    if was_default:
        await choose_default(session, settings)


# -- checking ------------------------------------------------------------------------------------
async def check(
    session: AsyncSession, user: User, keyring: Keyring, settings: Settings, llm: ChatClient, model_id: str
) -> ModelCheck:
    """Ask the model's server for its model list; the result is stored on the model.

    A system model's status is shared by everyone, so only an administrator's check updates it
    (a user's own OpenAI key says nothing about the model for others).
    """
    model = await get_visible(session, user, model_id)
    try:
        endpoint = endpoint_for(model, user, keyring, settings)
    except ModelUnavailable as exc:  # no server configured: nothing to ask
        result = ModelCheck(status="unreachable", latency_ms=None, detail=exc.detail)
    else:
        result = await probe(llm, endpoint)
    if model.owner_id is not None or user.is_admin:
        model.status, model.checked_at = result.status, utcnow()
        await session.flush()
    return result


async def probe(llm: ChatClient, endpoint: Endpoint) -> ModelCheck:
    return (await probe_listing(llm, endpoint))[0]


async def probe_listing(llm: ChatClient, endpoint: Endpoint) -> tuple[ModelCheck, dict[str, Any] | None]:
    """The check, and the server's listing entry for the endpoint's model when it serves it."""
    started = time.perf_counter()
    try:
        entries = await llm.list_models(endpoint)
    except AppError as exc:
        status: ModelStatus = "unauthorized" if isinstance(exc, UpstreamUnauthorized) else "unreachable"
        latency = _elapsed_ms(started) if status == "unauthorized" else None
        return ModelCheck(status=status, latency_ms=latency, detail=exc.detail), None
    latency = _elapsed_ms(started)
    names = [str(entry.get("id")) for entry in entries if entry.get("id")]
    if endpoint.model in names:
        entry = next(entry for entry in entries if str(entry.get("id")) == endpoint.model)
        detail = f"The server answers and serves {endpoint.model}."
        return ModelCheck(status="ok", latency_ms=latency, detail=detail), entry
    listed = ", ".join(names[:MAX_NAMES_IN_DETAIL]) or "none"
    more = f" and {len(names) - MAX_NAMES_IN_DETAIL} more" if len(names) > MAX_NAMES_IN_DETAIL else ""
    return ModelCheck(
        status="model_not_found",
        latency_ms=latency,
        detail=f"The server answers but does not serve {endpoint.model}; it lists: {listed}{more}.",
    ), None


def listed_context_window(entry: dict[str, Any] | None) -> int | None:
    """The context window a server advertises for a model (vLLM's max_model_len), if it does."""
    value = entry.get("max_model_len") if entry else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


async def _check_on_save(
    llm: ChatClient, model: Model, user: User, keyring: Keyring, settings: Settings, *, take_window: bool
) -> None:
    """Check a model as it is saved, so its status is never a stale guess; with take_window, the server's
    advertised context window replaces the default one."""
    try:
        endpoint = endpoint_for(model, user, keyring, settings)
    except AppError:
        return  # nothing to ask yet (no key, no server): the status stays unknown
    result, entry = await probe_listing(llm, endpoint)
    model.status, model.checked_at = result.status, utcnow()
    if take_window and (window := listed_context_window(entry)) is not None:
        model.context_window = window


async def mark_ok(target: AsyncSession | async_sessionmaker[AsyncSession], model_id: str) -> None:
    """After a successful generation: the model answers, whatever an earlier check said.

    Cheap when nothing changes (one read). A system model's "unauthorized" stays: a user's own key
    working says nothing about the server's key.
    """
    if isinstance(target, AsyncSession):
        await _mark_ok(target, model_id)
        return
    async with target() as session:
        if await _mark_ok(session, model_id):
            await session.commit()


async def _mark_ok(session: AsyncSession, model_id: str) -> bool:
    row = (await session.execute(select(Model.status, Model.owner_id).where(Model.id == model_id))).one_or_none()
    if row is None or row.status == "ok" or (row.owner_id is None and row.status == "unauthorized"):
        return False
    await session.execute(sa_update(Model).where(Model.id == model_id).values(status="ok", checked_at=utcnow()))
    return True


def private_hosts_allowed(settings: Settings, *, system: bool) -> bool:
    """Administrators' system models may live on loopback or a private network (a local vLLM, Ollama);
    users' own endpoints keep the SSRF guard unless CODESMITH_ALLOW_PRIVATE_MODEL_HOSTS allows them."""
    return system or settings.allow_private_model_hosts


def _elapsed_ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


# -- LoRA adapters -------------------------------------------------------------------------------
async def load_lora(llm: ChatClient, endpoint: Endpoint, adapter: str) -> None:
    """Ask the vLLM server to load the adapter under the endpoint's model name (needs runtime LoRA updating)."""
    await _lora_call(llm, endpoint, "load_lora_adapter", {"lora_name": endpoint.model, "lora_path": adapter})


async def unload_lora(llm: ChatClient, endpoint: Endpoint) -> None:
    await _lora_call(llm, endpoint, "unload_lora_adapter", {"lora_name": endpoint.model})


async def _unload_quietly(llm: ChatClient, model: Model, user: User, keyring: Keyring, settings: Settings) -> None:
    # A server that is down or already forgot the adapter must not keep a user from deleting the model.
    try:
        await unload_lora(llm, endpoint_for(model, user, keyring, settings))
    except AppError as exc:
        logger.warning(
            "LoRA adapter unload failed; deleting the model anyway",
            extra={"model_id": model.id, "code": exc.code, "detail": exc.detail},
        )


async def _lora_call(llm: ChatClient, endpoint: Endpoint, action: str, body: dict[str, str]) -> None:
    # vLLM serves these beside the OpenAI routes: {root}/v1/load_lora_adapter.
    url = f"{endpoint.root_url}/v1/{action}"
    try:
        await llm.sdk(endpoint).post(url, cast_to=httpx.Response, body=body, options={"timeout": LORA_TIMEOUT_SECONDS})
    except openai.APIStatusError as exc:
        raise _lora_refused(exc, endpoint, action) from None
    except Exception as exc:  # connection failures, timeouts, a refused address: the contract's codes
        raise map_exception(exc, endpoint.api_key) from None


def _lora_refused(exc: openai.APIStatusError, endpoint: Endpoint, action: str) -> AppError:
    verb = "load" if action.startswith("load") else "unload"
    if exc.status_code in (401, 403):
        return UpstreamUnauthorized("The model server rejected the API key when asked to load the LoRA adapter.")
    if exc.status_code in (404, 405):
        return UpstreamError(
            "The model server does not offer runtime LoRA loading: start vLLM with --enable-lora and "
            "VLLM_ALLOW_RUNTIME_LORA_UPDATING=True."
        )
    message = scrub(_message_of(exc.body) or f"HTTP {exc.status_code}", endpoint.api_key)
    return UpstreamError(f"The model server refused to {verb} the LoRA adapter (HTTP {exc.status_code}): {message}")


def _message_of(body: Any) -> str | None:
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict):
            return str(error.get("message") or error.get("detail") or "") or None
        return str(error)
    return str(body) if body else None
