"""The refresh cookie: HttpOnly, SameSite=Strict, sent only to the auth routes, Secure over https."""

from __future__ import annotations

from fastapi import Request, Response

from codesmith.config import Settings

REFRESH_COOKIE = "codesmith_refresh"
REFRESH_COOKIE_PATH = "/api/v1/auth"


def _secure(request: Request) -> bool:
    # uvicorn's proxy headers set the scheme from X-Forwarded-Proto for trusted proxies.
    return request.url.scheme == "https"


def set_refresh_cookie(response: Response, request: Request, settings: Settings, token: str) -> None:
    response.set_cookie(
        REFRESH_COOKIE,
        token,
        max_age=settings.refresh_token_days * 24 * 3600,
        path=REFRESH_COOKIE_PATH,
        secure=_secure(request),
        httponly=True,
        samesite="strict",
    )


def clear_refresh_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(
        REFRESH_COOKIE, path=REFRESH_COOKIE_PATH, secure=_secure(request), httponly=True, samesite="strict"
    )


def clearing_header(request: Request) -> str:
    """The Set-Cookie value that clears the cookie, for an error answer (raised, so no Response to set it on)."""
    response = Response()
    clear_refresh_cookie(response, request)
    return response.headers["set-cookie"]
