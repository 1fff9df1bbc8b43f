"""Settings, read from the environment (prefix CODESMITH_) and a `.env` file: the only module that does."""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

MIN_SECRET_LENGTH = 32
# OWASP's floor for argon2id (19 MiB, 2 passes); production refuses less memory than this.
MIN_PRODUCTION_HASH_MEMORY_KIB = 19 * 1024
WEAK_SECRETS = {"changeme", "secret", "change-me", "development", "codesmith", "password"}


class ConfigError(RuntimeError):
    """A setting that makes the service unsafe or unable to start."""


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CODESMITH_", env_file=".env", extra="ignore")

    env: Literal["development", "production"] = "development"
    database_url: str = "sqlite+aiosqlite:///./data/codesmith.db"
    data_dir: Path = Path("./data")
    secret_key: str | None = None

    openai_base_url: str = "https://api.openai.com/v1"
    openai_api_key: str | None = None
    openai_models: Annotated[list[str], NoDecode] = ["gpt-4o-mini", "gpt-4.1-mini"]
    vllm_base_url: str | None = None
    vllm_api_key: str | None = None
    vllm_refresh_seconds: float = 60.0
    # Request header carrying the conversation id to vLLM (and other self-hosted endpoints), for a
    # router's session affinity (production-stack `--routing-logic session`); empty: none.
    vllm_session_header: str = "X-Session-ID"
    allow_private_model_hosts: bool = False

    cors_origins: Annotated[list[str], NoDecode] = []
    access_token_minutes: int = Field(default=60, ge=1)
    # argon2id's memory per password hash (64 MiB, 3 passes, 4 lanes: about 0.1 s of a CPU). Lower only
    # for tests, which register a user per test; production refuses less than OWASP's 19 MiB.
    password_hash_memory_kib: int = Field(default=64 * 1024, ge=1024)
    # Lifetime of a refresh token (the sign-in cookie); each refresh starts it again.
    refresh_token_days: int = Field(default=30, ge=1, le=3650)
    max_prompt_chars: int = Field(default=8000, ge=1)

    rate_limit_requests_per_minute: int = Field(default=20, ge=0)
    rate_limit_tokens_per_day: int = Field(default=200_000, ge=0)
    # Failed sign-ins (and password confirmations) per (email, client address) within the window, and
    # the higher ceiling per email from every address together (so one client cannot lock a user out).
    login_failures_allowed: int = Field(default=5, ge=1)
    login_failures_per_email: int = Field(default=50, ge=1)
    login_failure_window_seconds: int = Field(default=15 * 60, ge=1)
    # Accounts created per client address per hour.
    registrations_per_hour: int = Field(default=5, ge=0)
    # Who may register until an administrator changes it at run time (stored in instance_settings).
    registration: Literal["open", "invite", "closed"] = "open"
    # Proxies whose X-Forwarded-For is believed (addresses or networks); the socket's address otherwise.
    trusted_proxies: Annotated[list[str], NoDecode] = []
    # Shared state of several replicas: live fan-out of generations, cancels, rate limits and budgets.
    redis_url: str | None = None
    # How long a replica's claim on a running generation lasts unless renewed (every third of it); a
    # generation whose replica stops renewing is marked interrupted once its lease has expired.
    generation_lease_seconds: float = Field(default=15.0, gt=0)
    # Tokens per UTC day, over all users, of generations paid with the server's own keys (0: no cap).
    server_key_tokens_per_day: int = Field(default=0, ge=0)

    gpu_hourly_usd: float = Field(default=1.00, ge=0)
    require_code_in_answer: bool = True

    # Upstream timeouts (seconds) and retries before the first token.
    upstream_connect_timeout: float = 10.0
    upstream_first_token_timeout: float = 60.0
    upstream_between_tokens_timeout: float = 60.0
    upstream_max_retries: int = 2
    answer_reserve_tokens: int = 2048
    # A comment line on idle event streams, so proxies and browsers keep them open.
    sse_heartbeat_seconds: float = Field(default=15.0, gt=0)
    # A model endpoint is untrusted: the longest answer stored and the longest a generation may run.
    max_answer_chars: int = Field(default=200_000, ge=1)
    max_generation_seconds: float = Field(default=600.0, gt=0)
    # Open event streams per user (every generation and re-attach together).
    max_streams_per_user: int = Field(default=20, ge=1)
    # Largest request body accepted (413 request_too_large before it is parsed).
    max_request_bytes: int = Field(default=1024 * 1024, ge=1024)
    # Largest import document (POST /users/me/import alone; 413 request_too_large above it).
    max_import_bytes: int = Field(default=50 * 1024 * 1024, ge=1024)
    # The server's longest retention of conversations not updated, in days (None: kept; users may set less).
    retention_days: int | None = Field(default=None, ge=1, le=3650)
    # Repair an answer whose code fails its check, once (each user can also turn it off in Settings).
    auto_repair: bool = True
    # Bearer token that /metrics asks for when set (public otherwise).
    metrics_token: str | None = None

    log_level: str = "INFO"
    log_json: bool | None = None
    spa_dir: Path = Path(__file__).resolve().parents[2] / "frontend" / "dist"
    # Where alembic.ini and alembic/ live: the repository root, or /app in the container image.
    alembic_dir: Path = Path(__file__).resolve().parents[2]

    @field_validator("openai_models", "cors_origins", "trusted_proxies", mode="before")
    @classmethod
    def _csv(cls, value: object) -> object:
        return _split_csv(value)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def json_logs(self) -> bool:
        return self.log_json if self.log_json is not None else self.env == "production"

    def resolved_secret_key(self) -> str:
        """The signing secret: set, or generated once into the data folder (development only)."""
        if self.secret_key:
            if self.env == "production" and _is_weak(self.secret_key):
                raise ConfigError(
                    "CODESMITH_SECRET_KEY is too weak for production: use at least "
                    f"{MIN_SECRET_LENGTH} random characters (python -c 'import secrets; "
                    "print(secrets.token_urlsafe(48))')."
                )
            return self.secret_key
        if self.env == "production":
            raise ConfigError(
                "CODESMITH_SECRET_KEY must be set in production: generate one with "
                "python -c 'import secrets; print(secrets.token_urlsafe(48))'."
            )
        return _load_or_create_secret(self.data_dir / "secret_key")

    def resolved_password_hash_memory_kib(self) -> int:
        if self.env == "production" and self.password_hash_memory_kib < MIN_PRODUCTION_HASH_MEMORY_KIB:
            raise ConfigError(
                f"CODESMITH_PASSWORD_HASH_MEMORY_KIB is too low for production: at least "
                f"{MIN_PRODUCTION_HASH_MEMORY_KIB} (the default is 65536)."
            )
        return self.password_hash_memory_kib


def _is_weak(secret: str) -> bool:
    return len(secret) < MIN_SECRET_LENGTH or secret.lower() in WEAK_SECRETS or len(set(secret)) < 8


def _load_or_create_secret(path: Path) -> str:
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    # O_EXCL: two workers starting together must not overwrite each other's secret.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(secret)
    return secret


@lru_cache
def get_settings() -> Settings:
    return Settings()
