"""Service endpoints, the error format, request ids and start-up configuration checks."""

from __future__ import annotations

import stat
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from codesmith import security
from codesmith.config import ConfigError, Settings
from codesmith.main import create_app
from tests.conftest import PASSWORD


async def test_healthz(client: httpx.AsyncClient) -> None:
    response = await client.get("http://test/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_ok_then_503_when_the_database_is_gone(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    assert (await client.get("http://test/readyz")).status_code == 200
    await app.state.engine.dispose()
    # A directory cannot be opened as a database file: the database is gone.
    from codesmith.db import make_engine

    broken = make_engine(f"sqlite+aiosqlite:///{tmp_path}")
    app.state.engine = broken
    response = await client.get("http://test/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    await broken.dispose()


async def test_metrics_in_prometheus_format(client: httpx.AsyncClient) -> None:
    await client.get("http://test/healthz")
    response = await client.get("http://test/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "codesmith_http_requests_total" in response.text
    assert 'route="/healthz"' in response.text


class TestProblemDetails:
    async def test_unknown_api_route_is_404_problem(self, client: httpx.AsyncClient) -> None:
        for method in ("GET", "POST", "DELETE"):
            response = await client.request(method, "/no/such/route")
            assert response.status_code == 404
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["code"] == "not_found"

    async def test_wrong_method_is_405_problem(self, client: httpx.AsyncClient) -> None:
        response = await client.delete("/auth/register")
        assert response.status_code == 405
        assert response.json()["code"] == "method_not_allowed"
        assert response.headers["content-type"] == "application/problem+json"

    async def test_malformed_json_is_422_with_errors(self, client: httpx.AsyncClient) -> None:
        response = await client.post(
            "/auth/register", content=b"{not json", headers={"content-type": "application/json"}
        )
        assert response.status_code == 422
        assert response.json()["code"] == "validation_error"
        assert response.json()["errors"]

    async def test_500_shows_a_request_id_and_no_trace(self, app: FastAPI, caplog: pytest.LogCaptureFixture) -> None:
        @app.get("/api/v1/boom")
        async def boom() -> None:
            raise RuntimeError("secret internal detail")

        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            response = await http.get("/api/v1/boom")
        assert response.status_code == 500
        problem = response.json()
        assert problem["code"] == "internal_error"
        assert "secret internal detail" not in response.text and "Traceback" not in response.text
        assert problem["request_id"] in problem["detail"]
        assert any(getattr(r, "request_id", None) == problem["request_id"] for r in caplog.records)

    async def test_request_id_is_echoed(self, client: httpx.AsyncClient) -> None:
        response = await client.get("http://test/healthz", headers={"X-Request-ID": "abc-123"})
        assert response.headers["x-request-id"] == "abc-123"


@pytest.mark.sqlite_only
class TestFileModes:
    async def test_the_sqlite_database_is_0600_in_a_0700_folder_wal_files_too(self, tmp_path: Path) -> None:
        from sqlalchemy import text

        from codesmith.db import make_engine

        folder = tmp_path / "data"
        engine = make_engine(f"sqlite+aiosqlite:///{folder / 'codesmith.db'}")
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (x)"))
            await conn.execute(text("INSERT INTO t VALUES (1)"))
            files = sorted(path.name for path in folder.iterdir())
            assert "codesmith.db-wal" in files, files
            for path in folder.iterdir():
                assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
        await engine.dispose()
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700


class TestSecretKey:
    def test_generated_once_into_the_data_folder_with_mode_600(self, tmp_path: Path) -> None:
        settings = Settings(_env_file=None, data_dir=tmp_path / "data", secret_key=None)  # type: ignore[call-arg]
        first = settings.resolved_secret_key()
        path = tmp_path / "data" / "secret_key"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        assert len(first) >= 32
        assert settings.resolved_secret_key() == first

    def test_production_without_secret_refuses_to_start(self, tmp_path: Path) -> None:
        settings = Settings(_env_file=None, env="production", data_dir=tmp_path, secret_key=None)  # type: ignore[call-arg]
        with pytest.raises(ConfigError, match="CODESMITH_SECRET_KEY"):
            create_app(settings)

    @pytest.mark.parametrize("weak", ["changeme", "short", "a" * 40])
    def test_production_with_weak_secret_refuses_to_start(self, tmp_path: Path, weak: str) -> None:
        settings = Settings(_env_file=None, env="production", data_dir=tmp_path, secret_key=weak)  # type: ignore[call-arg]
        with pytest.raises(ConfigError, match="too weak"):
            create_app(settings)


class TestPasswordHashCost:
    STRONG_SECRET = "a-production-secret-that-is-long-and-random-0123456789"

    def test_the_default_is_64_mib_and_production_refuses_less_than_owasps_floor(self, tmp_path: Path) -> None:
        assert Settings.model_fields["password_hash_memory_kib"].default == 64 * 1024
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            env="production",
            data_dir=tmp_path,
            secret_key=self.STRONG_SECRET,
            password_hash_memory_kib=4096,
        )
        with pytest.raises(ConfigError, match="CODESMITH_PASSWORD_HASH_MEMORY_KIB"):
            create_app(settings)

    def test_hashes_carry_their_cost_and_verify_after_a_change(self) -> None:
        before = security._hashing.memory_kib
        try:
            security.use_password_hash_memory(2048)
            cheap = security.hash_password(PASSWORD)
            assert "m=2048," in cheap
            security.use_password_hash_memory(4096)
            assert "m=4096," in security.hash_password(PASSWORD)
            assert security.verify_password(PASSWORD, cheap)
            assert not security.verify_password("wrong " + PASSWORD, cheap)
            assert not security.verify_password(PASSWORD, None)  # the unknown email's dummy, at the new cost
        finally:
            security.use_password_hash_memory(before)


async def test_swagger_and_openapi_are_served(client: httpx.AsyncClient) -> None:
    docs = await client.get("http://test/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    spec = (await client.get("http://test/openapi.json")).json()
    flows = spec["components"]["securitySchemes"]["OAuth2PasswordBearer"]["flows"]
    assert flows["password"]["tokenUrl"] == "/api/v1/auth/token"
    operation_ids = [op["operationId"] for path in spec["paths"].values() for op in path.values()]
    assert "users-me" in operation_ids
    assert len(operation_ids) == len(set(operation_ids))
