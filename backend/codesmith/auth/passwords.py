"""What a new password must be: not blank, no control characters, not one of the most common passwords."""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from importlib import resources

COMMON_PASSWORDS_FILE = "common_passwords.txt"
# Control characters, and lone surrogates (which cannot even be encoded to hash them).
_REFUSED_CATEGORIES = {"Cc", "Cs"}


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The bundled list (lower-cased), read once."""
    text = resources.files("codesmith.auth").joinpath(COMMON_PASSWORDS_FILE).read_text(encoding="utf-8")
    return frozenset(line for line in text.splitlines() if line and not line.startswith("#"))


def password_problem(password: str) -> str | None:
    """Why `password` is refused as a new password, in words for the user; None when it is acceptable."""
    if not password.strip():
        return "The password must not be only spaces."
    if any(unicodedata.category(char) in _REFUSED_CATEGORIES for char in password):
        return "The password must not contain control characters."
    if password.lower() in common_passwords():
        return "This password is one of the most common passwords: choose one that is harder to guess."
    return None


def check_new_password(password: str) -> str:
    """A pydantic after-validator: the password unchanged, or a ValueError saying what is wrong with it."""
    problem = password_problem(password)
    if problem is not None:
        raise ValueError(problem)
    return password
