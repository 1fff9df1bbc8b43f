"""FastAPI dependencies for the objects the app builds once at start-up (settings, keys, limiter).

Every dependency is `async def`, even when it never awaits: FastAPI runs a plain `def` dependency in
its thread pool, a thread hand-off per dependency per request for what is an attribute read.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from codesmith.config import Settings
from codesmith.llm.client import ChatClient
from codesmith.ratelimit import Limiter
from codesmith.security import Keyring
from codesmith.usage.limits import UsageLimiter


async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_keyring(request: Request) -> Keyring:
    keyring: Keyring = request.app.state.keyring
    return keyring


async def get_limiter(request: Request) -> Limiter:
    limiter: Limiter = request.app.state.limiter
    return limiter


async def get_llm(request: Request) -> ChatClient:
    llm: ChatClient = request.app.state.llm
    return llm


async def get_usage_limiter(request: Request) -> UsageLimiter:
    limiter: UsageLimiter = request.app.state.usage_limiter
    return limiter


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
KeyringDep = Annotated[Keyring, Depends(get_keyring)]
LimiterDep = Annotated[Limiter, Depends(get_limiter)]
LlmDep = Annotated[ChatClient, Depends(get_llm)]
UsageLimiterDep = Annotated[UsageLimiter, Depends(get_usage_limiter)]
