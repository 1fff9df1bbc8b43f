"""The usage page: totals, by model, by day, limits and the self-hosting comparison."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field


class UsageTotals(BaseModel):
    requests: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float = Field(description="Cost of priced requests only; see unpriced_requests.")
    unpriced_requests: int = Field(description="Requests on models without a known price: tokens, no cost.")
    estimated_requests: int = Field(description="Requests whose tokens were counted by Codesmith, not reported.")


class ModelUsage(BaseModel):
    model_id: str | None
    model_name: str
    requests: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None = Field(description="null when the model has no price")
    priced: bool


class DayUsage(BaseModel):
    date: date
    requests: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float


class UsageLimitsPublic(BaseModel):
    requests_per_minute: int = Field(description="0: unlimited")
    tokens_per_day: int = Field(description="0: unlimited")
    tokens_used_today: int
    tokens_left_today: int | None = Field(description="null when unlimited")
    requests_left_this_minute: int | None = Field(description="null when unlimited")


class SelfHosting(BaseModel):
    gpu_hourly_usd: float
    equivalent_gpu_hours: float = Field(description="GPU hours the period's API spend would have bought.")
    api_cost_usd: float
    days: int


class UsageReport(BaseModel):
    days: int
    totals: UsageTotals
    by_model: list[ModelUsage]
    by_day: list[DayUsage]
    limits: UsageLimitsPublic
    self_hosting: SelfHosting


class LimitsUpdate(BaseModel):
    requests_per_minute: int | None = Field(default=None, ge=0, le=1_000_000, description="null: the server default")
    tokens_per_day: int | None = Field(default=None, ge=0, le=10**12, description="null: the server default")


class UserLimitsPublic(BaseModel):
    user_id: str
    requests_per_minute: int
    tokens_per_day: int
    requests_per_minute_override: int | None
    tokens_per_day_override: int | None
