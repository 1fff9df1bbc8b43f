"""What every request meets before a route: body size and storable text, security headers, the offline
API console, and the metrics' token and labels."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from codesmith.config import Settings
from codesmith.main import create_app
from codesmith.middleware import PAGE_CSP, SANDBOX_CSP
from tests.conftest import RegisterUser, UserHandle


def problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    return body


class TestRequestSize:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {"max_request_bytes": 4096}

    async def test_a_body_over_the_limit_is_refused_before_auth_or_parsing(self, client: httpx.AsyncClient) -> None:
        body = b'{"prompt": "' + b"x" * 10_000 + b'"}'
        response = await client.post("/conversations", content=body, headers={"content-type": "application/json"})
        problem(response, 413, "request_too_large")

    async def test_a_chunked_body_is_counted_as_it_arrives(self, client: httpx.AsyncClient) -> None:
        async def chunks() -> AsyncIterator[bytes]:
            yield b'{"email": "a@example.com", "password": "'
            for _ in range(10):
                yield b"y" * 1000
            yield b'"}'

        response = await client.post("/auth/register", content=chunks(), headers={"content-type": "application/json"})
        assert "content-length" not in response.request.headers
        problem(response, 413, "request_too_large")

    async def test_a_body_under_the_limit_goes_through(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/auth/register", json={"email": "ok@example.com", "password": "a-Fine-pass-42"})
        assert response.status_code == 201, response.text


class TestStorableText:
    @pytest.mark.parametrize(
        ("path", "raw"),
        [
            ("/conversations", '{"prompt": "Write a parser \\ud800 in Rust"}'),
            ("/conversations", '{"prompt": "Write a parser", "model_id": "\\udfff"}'),
            ("/conversations/x/messages", '{"content": "Make it faster \\ud800"}'),
        ],
    )
    async def test_a_lone_surrogate_is_a_422_not_a_500(
        self, client: httpx.AsyncClient, user: UserHandle, path: str, raw: str
    ) -> None:
        headers = {**user.headers, "content-type": "application/json"}
        body = problem(await client.post(path, content=raw.encode(), headers=headers), 422, "validation_error")
        assert "surrogate" in body["detail"]

    async def test_a_proper_surrogate_pair_is_fine(self, client: httpx.AsyncClient) -> None:
        raw = '{"email": "emoji@example.com", "password": "pass \\ud83d\\ude00 word 42"}'
        response = await client.post(
            "/auth/register", content=raw.encode(), headers={"content-type": "application/json"}
        )
        assert response.status_code == 201, response.text

    async def test_nul_in_json_or_form_text_is_a_422(self, client: httpx.AsyncClient, user: UserHandle) -> None:
        json_nul = await client.post("/conversations", json={"prompt": "Write\x00 code"}, headers=user.headers)
        body = problem(json_nul, 422, "validation_error")
        assert body["errors"][0]["loc"] == ["body", "prompt"]
        form_nul = await client.post("/auth/token", data={"username": "a\x00@example.com", "password": "x"})
        problem(form_nul, 422, "validation_error")

    async def test_huge_integers_are_422(
        self, client: httpx.AsyncClient, register_user: RegisterUser, app: FastAPI
    ) -> None:
        from codesmith.users.tables import User

        admin = await register_user("root@example.com")
        async with app.state.sessionmaker() as session:
            row = await session.get(User, admin.id)
            assert row is not None
            row.is_admin = True
            await session.commit()
        for field in ("requests_per_minute", "tokens_per_day"):
            response = await client.put(f"/admin/users/{admin.id}/limits", json={field: 10**30}, headers=admin.headers)
            problem(response, 422, "validation_error")
        tokens = await client.post(
            "/users/me/api-tokens", json={"name": "t", "expires_in_days": 10**30}, headers=admin.headers
        )
        problem(tokens, 422, "validation_error")
        usage = await client.get("/usage", params={"days": 10**30}, headers=admin.headers)
        problem(usage, 422, "validation_error")


class TestSecurityHeaders:
    async def test_every_api_answer_is_nosniff_and_never_framed(
        self, client: httpx.AsyncClient, user: UserHandle
    ) -> None:
        for response in (
            await client.get("/users/me", headers=user.headers),
            await client.get("/no/such/route"),
            await client.get("http://test/healthz"),
        ):
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["referrer-policy"] == "no-referrer"
            assert "frame-ancestors 'none'" in response.headers["content-security-policy"]

    @pytest.fixture
    def settings_overrides(self, tmp_path: Path) -> dict[str, Any]:
        spa = tmp_path / "spa"
        (spa / "assets").mkdir(parents=True)
        (spa / "index.html").write_text('<!doctype html><script type="module" src="/assets/app.js"></script>')
        (spa / "assets" / "app.js").write_text("console.log(1)")
        return {"spa_dir": spa}

    async def test_the_spa_gets_a_strict_content_security_policy(self, client: httpx.AsyncClient) -> None:
        for path in ("/", "/conversations/123"):
            page = await client.get(f"http://test{path}")
            assert page.status_code == 200
            csp = page.headers["content-security-policy"]
            assert csp == PAGE_CSP
            assert "script-src 'self';" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
            assert "frame-ancestors 'none'" in csp
        script = await client.get("http://test/assets/app.js")
        assert script.headers["x-content-type-options"] == "nosniff"


class TestSandboxPage:
    """The page where answers' code runs: an opaque origin wherever it opens, framed by the app only."""

    @pytest.fixture
    def settings_overrides(self, tmp_path: Path) -> dict[str, Any]:
        spa = tmp_path / "spa"
        (spa / "pyodide").mkdir(parents=True)
        (spa / "index.html").write_text("<!doctype html>")
        (spa / "sandbox.html").write_text('<!doctype html><script src="/sandbox.js"></script>')
        (spa / "pyodide" / "pyodide.asm.wasm").write_bytes(b"\0asm\1\0\0\0")
        return {"spa_dir": spa}

    async def test_the_sandbox_is_sandboxed_and_only_the_app_may_frame_it(self, client: httpx.AsyncClient) -> None:
        page = await client.get("http://test/sandbox.html")
        assert page.status_code == 200
        csp = page.headers["content-security-policy"]
        assert csp == SANDBOX_CSP
        directives = [directive.strip() for directive in csp.split(";")]
        # allow-scripts only: never allow-same-origin, which would hand it the app's storage and cookies.
        assert directives[0] == "sandbox allow-scripts"
        assert "frame-ancestors 'self'" in directives
        assert page.headers["x-frame-options"] == "SAMEORIGIN"

    async def test_every_other_page_keeps_the_strict_policy(self, client: httpx.AsyncClient) -> None:
        for path in ("/", "/sandbox.html/", "/c/sandbox.html", "/index.html"):
            page = await client.get(f"http://test{path}")
            assert page.headers["content-security-policy"] == PAGE_CSP, path
            assert page.headers["x-frame-options"] == "DENY", path

    async def test_pyodide_is_served_as_webassembly_readable_from_the_sandbox(self, client: httpx.AsyncClient) -> None:
        wasm = await client.get("http://test/pyodide/pyodide.asm.wasm")
        assert wasm.status_code == 200
        assert wasm.headers["content-type"] == "application/wasm"
        assert wasm.headers["access-control-allow-origin"] == "*"
        assert "access-control-allow-credentials" not in wasm.headers
        assert "access-control-allow-origin" not in (await client.get("http://test/")).headers


class TestApiConsole:
    async def test_docs_load_every_asset_from_the_app_without_inline_scripts(self, client: httpx.AsyncClient) -> None:
        page = await client.get("http://test/docs")
        assert page.status_code == 200
        assert page.headers["content-security-policy"] == PAGE_CSP
        sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert sources and all(source.startswith("/") for source in sources), sources
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page.text), "an inline script would break the CSP"
        for source in sources:
            asset = await client.get(f"http://test{source}")
            assert asset.status_code == 200, source
        init = await client.get("http://test/docs/static/console.js")
        assert "/openapi.json" in init.text and "persistAuthorization" in init.text


class TestMetrics:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {"metrics_token": "scrape-me-0123456789"}

    async def test_metrics_need_the_token_when_one_is_set(self, client: httpx.AsyncClient) -> None:
        problem(await client.get("http://test/metrics"), 401, "not_authenticated")
        wrong = await client.get("http://test/metrics", headers={"Authorization": "Bearer nope"})
        problem(wrong, 401, "not_authenticated")
        right = await client.get("http://test/metrics", headers={"Authorization": "Bearer scrape-me-0123456789"})
        assert right.status_code == 200
        assert "codesmith_http_requests_total" in right.text


async def test_metrics_stay_public_without_a_token(tmp_path: Path, settings: Settings) -> None:
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http,
    ):
        assert (await http.get("/metrics")).status_code == 200
