"""Limits on guessing passwords (sign-in and password confirmation) and on creating accounts, per client."""

from __future__ import annotations

import hashlib
import ipaddress
from typing import Annotated

from fastapi import Depends, Request
from limits import RateLimitItem, RateLimitItemPerHour, RateLimitItemPerSecond

from codesmith.clientip import client_address
from codesmith.config import Settings
from codesmith.ratelimit import Limiter

GUESSES = "password-guesses"
ACCOUNT_GUESSES = "password-guesses-account"
REGISTRATIONS = "registrations"
TOO_MANY_GUESSES = "Too many failed password attempts for this account."
TOO_MANY_REGISTRATIONS = "Too many accounts were created from your address."


class Throttle:
    """The password-guess and registration limits that apply to the client of one request.

    A guess is reserved before the password is checked (the limiter's hit is atomic), so concurrent guesses
    cannot all pass a check made before any of them failed. Guesses are counted per (account, client address)
    and, with a higher ceiling, per account from every address together: one client can lock an account out
    only from its own address. Sign-in and password confirmation share the budget: a guess is a guess,
    whichever endpoint it comes through.
    """

    def __init__(self, limiter: Limiter, settings: Settings, address: str) -> None:
        self._limiter = limiter
        self._address = _bucket(address)
        window = settings.login_failure_window_seconds
        self._per_address = RateLimitItemPerSecond(settings.login_failures_allowed, window)
        self._per_account = RateLimitItemPerSecond(settings.login_failures_per_email, window)
        per_hour = settings.registrations_per_hour
        self._registrations: RateLimitItem | None = RateLimitItemPerHour(per_hour) if per_hour else None

    async def reserve_guess(self, account: str) -> None:
        """Count a guess at `account`'s password (a failure until `forgive`), or raise 429 before it is checked."""
        key = account_key(account)
        # Checked first so that a client already over its own limit cannot spend the account's ceiling.
        await self._limiter.ensure_room(self._per_account, ACCOUNT_GUESSES, key, what=TOO_MANY_GUESSES)
        await self._limiter.consume(self._per_address, GUESSES, key, self._address, what=TOO_MANY_GUESSES)
        await self._limiter.consume(self._per_account, ACCOUNT_GUESSES, key, what=TOO_MANY_GUESSES)

    async def forgive(self, account: str) -> None:
        """The password was right: this client's failures for the account are forgotten.

        The account's ceiling keeps the guess (a moving window cannot hand one entry back); it is set far above
        how often a person signs in.
        """
        await self._limiter.clear(self._per_address, GUESSES, account_key(account), self._address)

    async def reserve_registration(self) -> None:
        """Count a registration attempt from this client, or raise 429 (none when registrations_per_hour is 0).

        Every attempt that reaches the service counts, a taken email (409) included: counting only successes
        would leave registration free to probe which emails have accounts, and reserving first has no race.
        """
        if self._registrations is not None:
            await self._limiter.consume(self._registrations, REGISTRATIONS, self._address, what=TOO_MANY_REGISTRATIONS)


def account_key(account: str) -> str:
    # A digest, not the email: a fixed size whatever a client sends as a username, and no email addresses kept
    # in the limiter's storage (Redis, when shared).
    return hashlib.sha256(account.encode("utf-8", "surrogatepass")).hexdigest()


def _bucket(address: str) -> str:
    """The key for a client: its address, or for IPv6 its /64, which one subscriber usually holds whole."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        return ipaddress.IPv6Network((parsed, 64), strict=False).with_prefixlen
    return str(parsed)


async def get_throttle(request: Request) -> Throttle:
    settings: Settings = request.app.state.settings
    limiter: Limiter = request.app.state.limiter
    return Throttle(limiter, settings, client_address(request, settings.trusted_proxies))


ThrottleDep = Annotated[Throttle, Depends(get_throttle)]
