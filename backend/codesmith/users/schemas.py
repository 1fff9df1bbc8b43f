"""Request and response bodies of the users domain (never a hash, never a key)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, field_validator

from codesmith.auth.passwords import check_new_password

# A password being set: the contract's length; not blank, no control characters, not a common one.
NewPassword = Annotated[str, Field(min_length=8, max_length=128), AfterValidator(check_new_password)]
# A password being checked is not held to today's rules (older ones may differ), only to a bound on the
# work one request can ask for. The sign-in form applies the same bound in the service.
MAX_CHECKED_PASSWORD = 1024


class UserCreate(BaseModel):
    email: EmailStr
    password: NewPassword
    openai_api_key: str | None = Field(default=None, min_length=1, max_length=512)
    invitation: str | None = Field(
        default=None, min_length=1, max_length=100, description="csi_...: needed while registration is `invite`."
    )

    @field_validator("email")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.strip().lower()


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    email: str
    is_admin: bool
    has_openai_key: bool
    openai_key_hint: str | None
    openai_key_verified: bool = Field(
        description="Whether OpenAI accepted the stored key when it was saved (false: no key, or not checked)."
    )
    created_at: datetime
    retention_days: int | None = Field(
        description="Delete my conversations not updated for this many days (null: keep them; "
        "the server's limit still applies)."
    )
    retention_limit_days: int | None = Field(
        description="The server's longest retention in days (CODESMITH_RETENTION_DAYS; null: none)."
    )
    auto_repair: bool = Field(
        description="Whether an answer whose code fails its check is repaired once (the user's switch)."
    )
    auto_repair_available: bool = Field(
        description="Whether this server repairs answers at all (CODESMITH_AUTO_REPAIR); off: the switch does nothing."
    )


def _openai_key_shape(value: str) -> str:
    # The key itself never goes into the message: it would be echoed in the error body.
    value = value.strip()
    if not value.startswith("sk-") or any(char.isspace() for char in value):
        raise ValueError("An OpenAI API key starts with 'sk-' and contains no spaces.")
    if not MIN_OPENAI_KEY <= len(value) <= MAX_OPENAI_KEY:
        raise ValueError(f"An OpenAI API key is {MIN_OPENAI_KEY} to {MAX_OPENAI_KEY} characters long.")
    return value


MIN_OPENAI_KEY, MAX_OPENAI_KEY = 20, 300


class OpenAIKeyUpdate(BaseModel):
    api_key: Annotated[
        str,
        Field(min_length=1, max_length=512, description="sk-..., 20-300 characters; OpenAI is asked whether it works."),
        AfterValidator(_openai_key_shape),
    ]


class PasswordChange(BaseModel):
    current_password: str = Field(max_length=MAX_CHECKED_PASSWORD)
    new_password: NewPassword


class ApiTokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)


class ApiTokenPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None


class ApiTokenCreated(ApiTokenPublic):
    token: str = Field(description="Shown once: only its hash is stored.")


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
