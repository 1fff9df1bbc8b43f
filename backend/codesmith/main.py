"""create_app(): lifespan, middleware, error handlers, routers, service endpoints and the built SPA."""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from starlette.exceptions import HTTPException as StarletteHTTPException

from codesmith import openapi
from codesmith.admin.router import router as instance_admin_router
from codesmith.auth.last_used import LastUsedRecorder
from codesmith.auth.router import router as auth_router
from codesmith.config import Settings, get_settings
from codesmith.console import mount_console
from codesmith.conversations.generations import GenerationService
from codesmith.conversations.router import router as conversations_router
from codesmith.db import make_engine, make_sessionmaker
from codesmith.errors import PROBLEM_RESPONSE, NotAuthenticated, http_error_handler, install_error_handlers
from codesmith.llm.client import ChatClient
from codesmith.llm.ssrf import guarded_transport_factory
from codesmith.logs import configure_logging
from codesmith.middleware import RequestBodyGuard, RequestContextMiddleware, SecurityHeaders
from codesmith.models import discovery
from codesmith.models import health as model_health
from codesmith.models import service as models_service
from codesmith.models.router import router as models_router
from codesmith.openai_compat import errors as openai_errors
from codesmith.openai_compat import handles as openai_handles
from codesmith.openai_compat.router import router as openai_router
from codesmith.ratelimit import Limiter, make_redis, make_storage
from codesmith.security import Keyring, use_password_hash_memory
from codesmith.snippets.checks.python import RUFF_SERVER
from codesmith.snippets.router import router as snippets_router
from codesmith.usage.limits import UsageLimiter
from codesmith.usage.router import admin_router
from codesmith.usage.router import router as usage_router
from codesmith.users.router import router as users_router
from codesmith.yourdata import retention
from codesmith.yourdata.router import conversation_router as conversation_export_router
from codesmith.yourdata.router import router as yourdata_router

logger = logging.getLogger("codesmith")

API_PREFIX = "/api/v1"


def _operation_id(route: APIRoute) -> str:
    tag = route.tags[0] if route.tags else "default"
    return f"{tag}-{route.name}"


def _api_router() -> APIRouter:
    api = APIRouter(prefix=API_PREFIX)
    for router in (
        auth_router,
        users_router,
        yourdata_router,
        models_router,
        conversations_router,
        conversation_export_router,
        snippets_router,
        usage_router,
        admin_router,
        instance_admin_router,
    ):
        api.include_router(router)
    return api


def _service_router() -> APIRouter:
    service = APIRouter(tags=["service"])

    @service.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @service.get("/readyz", responses={503: {"description": "The database does not answer."}})
    async def readyz(request: Request) -> JSONResponse:
        try:
            async with request.app.state.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as exc:  # any failure to reach the database means not ready
            logger.warning("readiness check failed", extra={"error": type(exc).__name__})
            return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok"})

    @service.get(
        "/metrics",
        response_class=Response,
        responses={
            200: {"content": {CONTENT_TYPE_LATEST.split(";")[0]: {"schema": {"type": "string"}}}},
            401: PROBLEM_RESPONSE,
        },
    )
    async def metrics(request: Request) -> Response:
        """Prometheus text format; asks for `Authorization: Bearer <CODESMITH_METRICS_TOKEN>` when that is set."""
        _check_metrics_token(request)
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return service


def _check_metrics_token(request: Request) -> None:
    expected: str | None = request.app.state.settings.metrics_token
    if not expected:
        return
    given = request.headers.get("authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {expected}".encode()):
        raise NotAuthenticated("The metrics need 'Authorization: Bearer <CODESMITH_METRICS_TOKEN>'.")


def _mount_spa(app: FastAPI, spa_dir: Path) -> None:
    """Serve the built SPA: its files, and index.html for any other GET outside /api (client routes).

    The fallback lives in the 404 handler rather than in a catch-all route, so unknown /api paths
    keep answering 404 (not 405) with problem+json.
    """
    index = spa_dir / "index.html"
    if (spa_dir / "assets").is_dir():
        app.mount("/assets", StaticFiles(directory=spa_dir / "assets"), name="assets")

    async def not_found(request: Request, exc: Exception) -> Response:
        path = request.url.path
        if openai_handles(path) and isinstance(exc, StarletteHTTPException):
            return openai_errors.http_error(request, exc)
        is_api = path == "/api" or path.startswith("/api/")
        is_page = request.method in {"GET", "HEAD"} and not is_api
        if is_page and isinstance(exc, StarletteHTTPException) and exc.status_code == 404:
            if index.exists():
                return _spa_file(spa_dir, path.lstrip("/")) or FileResponse(
                    index, headers={"Cache-Control": "no-cache"}
                )
            if path == "/":
                return RedirectResponse("/docs")
        return await http_error_handler(request, exc)

    app.add_exception_handler(StarletteHTTPException, not_found)


def _spa_file(spa_dir: Path, relative: str) -> FileResponse | None:
    """A top-level file of the build (favicon, manifest), never a path outside it."""
    if not relative:
        return None
    candidate = (spa_dir / relative).resolve()
    if candidate.is_file() and candidate.is_relative_to(spa_dir.resolve()):
        return FileResponse(candidate, headers={"Cache-Control": "no-cache"})
    return None


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.json_logs)
    # Resolve the secret now: in production a missing or weak one stops start-up here.
    keyring = Keyring(settings.resolved_secret_key())
    use_password_hash_memory(settings.resolved_password_hash_memory_kib())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url)
        app.state.engine = engine
        app.state.sessionmaker = make_sessionmaker(engine)
        app.state.llm = ChatClient(settings, transport_factory=guarded_transport_factory)
        await app.state.llm.warm_up()
        await models_service.sync_settings_models_at_start(app.state.sessionmaker, settings)
        redis = make_redis(settings.redis_url)
        app.state.usage_limiter.redis = redis
        app.state.generations = GenerationService(
            app.state.sessionmaker, app.state.llm, settings, app.state.usage_limiter, redis=redis
        )
        # Before serving: what replicas that are gone left running is stored as interrupted.
        await app.state.generations.open()
        vllm_discovery = discovery.start(app.state.sessionmaker, app.state.llm, settings)
        model_recheck = model_health.start(app.state.sessionmaker, app.state.llm, settings, keyring)
        app.state.last_used = LastUsedRecorder(app.state.sessionmaker)
        app.state.last_used.start()
        retention_job = retention.start(app.state.sessionmaker, settings)
        try:
            yield
        finally:
            await app.state.generations.shutdown()
            await discovery.stop(vllm_discovery)
            await model_health.stop(model_recheck)
            await retention.stop(retention_job)
            await app.state.llm.aclose()
            await app.state.last_used.close()
            if redis is not None:
                await redis.aclose()
            await engine.dispose()
            await asyncio.to_thread(RUFF_SERVER.close)

    app = FastAPI(
        title="Codesmith",
        version="0.1.0",
        description="Turn a plain-language description into working code. "
        "Authorize with your email and password, or a personal API token.",
        lifespan=lifespan,
        generate_unique_id_function=_operation_id,
        docs_url=None,  # served from the app's own files: see console.py
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.keyring = keyring
    app.state.limiter = Limiter(make_storage(settings.redis_url))
    app.state.usage_limiter = UsageLimiter(app.state.limiter)
    install_error_handlers(app)
    # Innermost first: the body guard's refusals get CORS headers, security headers and a request id too.
    # The import route alone takes whole documents (CODESMITH_MAX_IMPORT_BYTES).
    app.add_middleware(
        RequestBodyGuard,
        max_bytes=settings.max_request_bytes,
        limits={f"{API_PREFIX}/users/me/import": settings.max_import_bytes},
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["Authorization", "Content-Type", "Last-Event-ID"],
            expose_headers=["Retry-After", "X-Request-ID"],
        )
    app.add_middleware(SecurityHeaders)
    app.add_middleware(RequestContextMiddleware)
    mount_console(app)
    openapi.install(app, API_PREFIX)
    app.include_router(_service_router())
    app.include_router(_api_router())
    app.include_router(openai_router)  # /v1: the OpenAI-compatible API
    _mount_spa(app, settings.spa_dir)
    return app


def __getattr__(name: str) -> FastAPI:
    # `codesmith.main:app` for uvicorn, built on first access so importing the module has no side effects.
    if name == "app":
        application = create_app()
        globals()["app"] = application
        return application
    raise AttributeError(name)
