"""The caller's usage page, and admins' per-user limits."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from codesmith.auth.deps import CurrentAdmin, CurrentUser
from codesmith.db import SessionDep
from codesmith.deps import SettingsDep
from codesmith.usage import service
from codesmith.usage.limits import UsageLimiter
from codesmith.usage.schemas import LimitsUpdate, UsageReport, UserLimitsPublic

router = APIRouter(tags=["usage"])
admin_router = APIRouter(prefix="/admin", tags=["admin"])


async def get_usage_limiter(request: Request) -> UsageLimiter:
    limiter: UsageLimiter = request.app.state.usage_limiter
    return limiter


UsageLimiterDep = Annotated[UsageLimiter, Depends(get_usage_limiter)]


@router.get("/usage", response_model=UsageReport)
async def usage(
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    usage_limiter: UsageLimiterDep,
    days: Annotated[int, Query(ge=1, le=366)] = 30,
) -> UsageReport:
    return await service.report(session, user, settings, usage_limiter, days)


@admin_router.get("/users/{user_id}/limits", response_model=UserLimitsPublic)
async def get_user_limits(
    user_id: str, _: CurrentAdmin, session: SessionDep, settings: SettingsDep
) -> UserLimitsPublic:
    return await service.get_user_limits(session, settings, user_id)


@admin_router.put("/users/{user_id}/limits", response_model=UserLimitsPublic)
async def set_user_limits(
    user_id: str, data: LimitsUpdate, admin: CurrentAdmin, session: SessionDep, settings: SettingsDep
) -> UserLimitsPublic:
    return await service.set_user_limits(session, admin, settings, user_id, data)
