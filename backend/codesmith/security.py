"""Password hashing, JWT access tokens, encryption of stored provider keys, and API-token hashing."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar, TypeVarTuple

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from jose import JWTError, jwt
from passlib.context import CryptContext

_T = TypeVar("_T")
_Ts = TypeVarTuple("_Ts")

JWT_ALGORITHM = "HS256"
API_TOKEN_PREFIX = "csk_"
INVITATION_PREFIX = "csi_"

DEFAULT_HASH_MEMORY_KIB = 64 * 1024


class _PasswordHashing:
    """argon2id at the configured memory cost, and a real hash of a random password at that cost:
    verifying against it costs what a real login costs, so a login with an unknown email takes as long
    as one with a known email. Hashes made at another cost still verify (the cost is in the hash)."""

    def __init__(self, memory_kib: int) -> None:
        self.memory_kib = memory_kib
        self.context = CryptContext(schemes=["argon2"], deprecated="auto", argon2__memory_cost=memory_kib)
        self.dummy_hash = self.context.hash(secrets.token_urlsafe(16))


_hashing = _PasswordHashing(DEFAULT_HASH_MEMORY_KIB)


def use_password_hash_memory(memory_kib: int) -> None:
    """Hash new passwords with this much memory (Settings.resolved_password_hash_memory_kib)."""
    global _hashing
    if memory_kib != _hashing.memory_kib:
        _hashing = _PasswordHashing(memory_kib)


# argon2 takes a CPU for a fraction of a second and releases the GIL: it runs here, never on the event
# loop. A few workers bound how many hashes (64 MiB of memory each) run at once; the rest queue.
_HASHING = ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1), thread_name_prefix="password-hash")


def hash_password(password: str) -> str:
    """Blocks for a fraction of a second: code on the event loop awaits `hash_password_async`."""
    return str(_hashing.context.hash(password))


def verify_password(password: str, password_hash: str | None) -> bool:
    """Whether `password` matches; never raises (an oversized or unencodable password is just wrong).

    Without a hash (an unknown email) it verifies against a dummy one, so the answer takes as long. Blocks
    like hashing: code on the event loop awaits `verify_password_async`.
    """
    hashing = _hashing
    try:
        if password_hash is None:
            hashing.context.verify(password, hashing.dummy_hash)
            return False
        return bool(hashing.context.verify(password, password_hash))
    except ValueError:  # passlib's PasswordSizeError, a malformed hash, a lone surrogate (UnicodeError)
        return False


async def hash_password_async(password: str) -> str:
    return await _off_loop(hash_password, password)


async def verify_password_async(password: str, password_hash: str | None) -> bool:
    return await _off_loop(verify_password, password, password_hash)


async def _off_loop(function: Callable[[*_Ts], _T], *args: *_Ts) -> _T:
    return await asyncio.get_running_loop().run_in_executor(_HASHING, function, *args)


def _derive(secret: str, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"codesmith", info=purpose).derive(secret.encode())


@dataclass(frozen=True)
class AccessClaims:
    user_id: str
    token_version: int


class Keyring:
    """Every key derived from the one secret: JWT signing, stored-key encryption, token hashing."""

    def __init__(self, secret: str) -> None:
        self._jwt_key = base64.urlsafe_b64encode(_derive(secret, b"jwt")).decode()
        self._fernet = Fernet(base64.urlsafe_b64encode(_derive(secret, b"fernet")))
        self._token_key = _derive(secret, b"api-token")
        self._refresh_key = _derive(secret, b"refresh-token")
        self._invitation_key = _derive(secret, b"invitation")

    def create_access_token(self, user_id: str, token_version: int, minutes: int) -> str:
        now = datetime.now(UTC)
        claims = {
            "sub": user_id,
            "ver": token_version,
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(minutes=minutes)).timestamp()),
            "typ": "access",
        }
        return str(jwt.encode(claims, self._jwt_key, algorithm=JWT_ALGORITHM))

    def decode_access_token(self, token: str) -> AccessClaims | None:
        """The claims of a valid token; None for an expired, tampered or unsigned one."""
        try:
            claims = jwt.decode(token, self._jwt_key, algorithms=[JWT_ALGORITHM])
        except JWTError:
            return None
        if claims.get("typ") != "access" or not isinstance(claims.get("sub"), str):
            return None
        version = claims.get("ver")
        if not isinstance(version, int):
            return None
        return AccessClaims(user_id=claims["sub"], token_version=version)

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str) -> str | None:
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken:
            return None

    def hash_api_token(self, token: str) -> str:
        # API tokens carry 256 bits of randomness, so a keyed fast hash is enough (no salt, no argon2),
        # and it lets a lookup find the token by its hash.
        return hmac.new(self._token_key, token.encode(), hashlib.sha256).hexdigest()

    def hash_refresh_token(self, token: str) -> str:
        # As random as API tokens, hashed the same way under a key of its own: one kind of token is
        # never mistaken for the other.
        return hmac.new(self._refresh_key, token.encode(), hashlib.sha256).hexdigest()

    def hash_invitation(self, token: str) -> str:
        # Invitations are as random as API tokens: a keyed fast hash, under a key of their own.
        return hmac.new(self._invitation_key, token.encode(), hashlib.sha256).hexdigest()


def new_api_token() -> str:
    return API_TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_invitation_token() -> str:
    return INVITATION_PREFIX + secrets.token_urlsafe(32)


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def key_hint(api_key: str) -> str:
    """What the user sees of a stored key: its prefix and last four characters."""
    prefix = api_key[:3] if api_key.startswith("sk-") else ""
    return f"{prefix}…{api_key[-4:]}" if len(api_key) >= 8 else "…"
