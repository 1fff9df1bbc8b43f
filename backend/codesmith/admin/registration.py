"""Who may register: the mode (open, invite, closed) administrators set in instance_settings, read on every
registration so every replica agrees, else CODESMITH_REGISTRATION."""

from __future__ import annotations

from typing import get_args

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from codesmith.admin import audit, invitations
from codesmith.admin.schemas import RegistrationMode, RegistrationSettings
from codesmith.admin.tables import InstanceSetting
from codesmith.config import Settings
from codesmith.errors import RegistrationClosed
from codesmith.security import Keyring
from codesmith.users.tables import User

SETTING_KEY = "registration"
MODES: tuple[RegistrationMode, ...] = get_args(RegistrationMode)


async def current_mode(session: AsyncSession, settings: Settings) -> RegistrationMode:
    stored = await session.scalar(select(InstanceSetting.value).where(InstanceSetting.key == SETTING_KEY))
    for mode in MODES:  # narrows the stored text to a mode; anything else falls back to the setting
        if stored == mode:
            return mode
    return settings.registration


async def describe(session: AsyncSession, settings: Settings) -> RegistrationSettings:
    return RegistrationSettings(mode=await current_mode(session, settings), default_mode=settings.registration)


async def set_mode(
    session: AsyncSession, actor: User, settings: Settings, mode: RegistrationMode
) -> RegistrationSettings:
    previous = await current_mode(session, settings)
    row = await session.get(InstanceSetting, SETTING_KEY)
    if row is None:
        session.add(InstanceSetting(key=SETTING_KEY, value=mode))
    else:
        row.value = mode
    audit.record(session, actor, "registration.update", "instance", None, {"mode": mode, "previous": previous})
    await session.flush()
    return RegistrationSettings(mode=mode, default_mode=settings.registration)


async def admit(
    session: AsyncSession, keyring: Keyring, settings: Settings, email: str, invitation: str | None
) -> str | None:
    """Whether `email` may register now: raises when not; the invitation to use up when one is needed."""
    if (await session.execute(select(User.id).limit(1))).first() is None:
        return None  # the first account of a fresh instance: whoever installs it administers it
    mode = await current_mode(session, settings)
    if mode == "closed":
        raise RegistrationClosed("Registration is closed on this instance: ask an administrator for an account.")
    if mode == "invite":
        return await invitations.find_usable(session, keyring, invitation, email)
    return None
