"""Request and response bodies of the model registry (a model's API key is write-only)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

Provider = Literal["openai", "vllm", "openai_compatible"]
ModelStatus = Literal["unknown", "ok", "unreachable", "unauthorized", "model_not_found"]


# Functions, not shared constants: each field gets its own FieldInfo.
def _base_url_field() -> Any:
    return Field(
        default=None,
        max_length=2048,
        description="The server's OpenAI-compatible base URL, with the API version (http://vllm:8000/v1).",
    )


def _api_key_field() -> Any:
    return Field(default=None, min_length=1, max_length=512, description="Write-only: never returned.")


def _context_window_field() -> Any:
    return Field(default=None, ge=256, le=100_000_000, description="Tokens; default: known or 8192.")


def _price_field() -> Any:
    return Field(default=None, ge=0, le=100_000, description="USD per million tokens; null: unpriced.")


def _strip_base_url(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip().rstrip("/")
    return value or None


class ModelCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    provider: Provider
    model: str = Field(min_length=1, max_length=300, description="The model's name on its server.")
    base_url: str | None = _base_url_field()
    api_key: str | None = _api_key_field()
    context_window: int | None = _context_window_field()
    input_cost_per_mtok: float | None = _price_field()
    output_cost_per_mtok: float | None = _price_field()
    lora_adapter: str | None = Field(
        default=None,
        min_length=1,
        max_length=500,
        pattern=r"^[^\s]+$",
        description="A Hugging Face adapter id or a path on the vLLM server; the model is served as `model`.",
    )
    system: bool = Field(default=False, description="Administrators only: offer the model to everyone.")

    _base_url = field_validator("base_url")(_strip_base_url)


class ModelUpdate(BaseModel):
    """Fields left out stay as they are; `"api_key": null` removes the model's key."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    model: str | None = Field(default=None, min_length=1, max_length=300)
    base_url: str | None = _base_url_field()
    api_key: str | None = _api_key_field()
    context_window: int | None = _context_window_field()
    input_cost_per_mtok: float | None = _price_field()
    output_cost_per_mtok: float | None = _price_field()

    _base_url = field_validator("base_url")(_strip_base_url)


class ModelPublic(BaseModel):
    id: str
    name: str
    provider: Provider
    model: str
    base_url: str | None
    context_window: int
    input_cost_per_mtok: float | None = Field(description="USD per million prompt tokens; null: unpriced.")
    output_cost_per_mtok: float | None = Field(description="USD per million completion tokens; null: unpriced.")
    priced: bool = Field(
        description="False for a model without a price (self-hosted): its usage counts tokens, not dollars."
    )
    owner: Literal["system", "user"]
    is_default: bool = Field(
        description="The caller's default: the last model used while usable, else the system default when "
        "usable, else the first usable model (at most one model is true; none when none is usable)."
    )
    usable: bool = Field(
        description="The caller can generate with it: its key is available (the model's, the user's OpenAI key "
        "or the server's) and its server is configured."
    )
    has_api_key: bool
    lora_adapter: str | None
    status: ModelStatus
    checked_at: datetime | None


class ModelCheck(BaseModel):
    status: ModelStatus
    latency_ms: int | None = Field(description="How long the server took to answer; null when it did not.")
    detail: str


class ModelHostPolicy(BaseModel):
    """Which model servers may be registered: the Models page explains it under the base URL field."""

    user_private_hosts: bool = Field(
        description="Users' own models may use loopback or private-network servers "
        "(CODESMITH_ALLOW_PRIVATE_MODEL_HOSTS); otherwise only public addresses."
    )
    system_private_hosts: bool = Field(
        description="Administrators' system models may use loopback or private-network servers (always true)."
    )
