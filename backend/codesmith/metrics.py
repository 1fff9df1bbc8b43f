"""Prometheus metrics, defined once for the process (served at /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter(
    "codesmith_http_requests_total",
    "HTTP requests by route template, method and status.",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "codesmith_http_request_seconds",
    "Time to the response's first byte, by route template.",
    ["method", "route"],
)
GENERATIONS = Counter(
    "codesmith_generations_total",
    "Generations by outcome (complete, failed, cancelled, rejected...).",
    ["outcome"],
)
ACTIVE_GENERATIONS = Gauge("codesmith_active_generations", "Generations running now.")
ACTIVE_STREAMS = Gauge("codesmith_active_streams", "SSE subscribers connected now.")
# Model series are labelled by provider and system-model name; every user-registered model shares the one
# model label USER_MODELS, so nobody can add series by naming models (labels are never user input).
USER_MODELS = "user-model"
TOKENS = Counter(
    "codesmith_tokens_total",
    "Tokens by provider, model and kind (prompt, completion).",
    ["provider", "model", "kind"],
)
COST = Counter("codesmith_cost_usd_total", "Cost in US dollars by provider and model.", ["provider", "model"])
UPSTREAM_ERRORS = Counter("codesmith_upstream_errors_total", "Upstream failures by code.", ["code"])
TIME_TO_FIRST_TOKEN = Histogram(
    "codesmith_time_to_first_token_seconds",
    "From the upstream call to its first text, by provider and model.",
    ["provider", "model"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
)
UPSTREAM_LATENCY = Histogram(
    "codesmith_upstream_seconds",
    "Whole upstream call duration, by provider and model.",
    ["provider", "model"],
    buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300),
)
REFUSALS = Counter("codesmith_refusals_total", "Refused requests by guard layer.", ["layer"])
