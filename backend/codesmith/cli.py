"""The `codesmith` command: serve, migrate, create-admin EMAIL."""

from __future__ import annotations

import argparse
import asyncio
import gc
import getpass
import importlib
import os
import sys

from pydantic import ValidationError

from codesmith.config import ConfigError, get_settings


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    if args.workers > 1 and not get_settings().redis_url:
        print(
            f"codesmith serve --workers {args.workers} needs CODESMITH_REDIS_URL: several processes share "
            "running generations, cancels, rate limits and budgets through Redis (redis://host:6379/0).",
            file=sys.stderr,
        )
        return 2
    if args.migrate:
        _migrate(args)
    # The app's modules, loaded once, live as long as the process: frozen, the garbage collector stops
    # walking them on every full collection (a few per cent of a busy server's CPU).
    importlib.import_module("codesmith.main")
    gc.freeze()
    uvicorn.run(
        "codesmith.main:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        # Forwarded headers (client address, https) are believed only from CODESMITH_TRUSTED_PROXIES: one
        # list for uvicorn and for the throttles (clientip.py), none by default.
        proxy_headers=bool(get_settings().trusted_proxies),
        forwarded_allow_ips=",".join(get_settings().trusted_proxies) or None,
        timeout_graceful_shutdown=30,
        log_level="info",
    )
    return 0


def _migrate(_: argparse.Namespace) -> int:
    from codesmith.migrations import upgrade

    upgrade(get_settings().database_url)
    print("Database migrated to the latest revision.")
    return 0


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    env_password = os.environ.get("CODESMITH_ADMIN_PASSWORD")
    if env_password:
        return env_password
    first = getpass.getpass("Password for the administrator: ")
    if first != getpass.getpass("Repeat the password: "):
        raise SystemExit("The passwords differ.")
    return first


async def _create_admin(email: str, password: str) -> str:
    from codesmith.admin import audit
    from codesmith.db import make_engine, make_sessionmaker
    from codesmith.security import Keyring, use_password_hash_memory
    from codesmith.users import service
    from codesmith.users.schemas import UserCreate

    settings = get_settings()
    use_password_hash_memory(settings.resolved_password_hash_memory_kib())
    engine = make_engine(settings.database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            existing = await service.get_by_email(session, email)
            if existing is not None:
                existing.is_admin = True
                audit.record(session, None, "user.update", "user", existing.id, {"is_admin": True, "by": "cli"})
                await session.commit()
                return f"{existing.email} is now an administrator."
            data = UserCreate(email=email, password=password)
            user = await service.register(session, Keyring(settings.resolved_secret_key()), data, is_admin=True)
            audit.record(session, None, "user.create", "user", user.id, {"is_admin": True, "by": "cli"})
            await session.commit()
            return f"Administrator {user.email} created."
    finally:
        await engine.dispose()


def _create_admin_command(args: argparse.Namespace) -> int:
    password = _read_password(args)
    try:
        print(asyncio.run(_create_admin(args.email, password)))
    except ValidationError as exc:
        print(f"Invalid input: {exc.errors()[0]['msg']}", file=sys.stderr)
        return 2
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="codesmith", description="Codesmith server and tools.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="Run the HTTP server.")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--migrate", action="store_true", help="Apply migrations first.")
    serve.set_defaults(func=_serve)
    migrate = sub.add_parser("migrate", help="Apply database migrations.")
    migrate.set_defaults(func=_migrate)
    admin = sub.add_parser("create-admin", help="Create an administrator (or promote an existing user).")
    admin.add_argument("email")
    admin.add_argument("--password-stdin", action="store_true", help="Read the password from stdin.")
    admin.set_defaults(func=_create_admin_command)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result: int = args.func(args)
    except ConfigError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return 2
    return result


if __name__ == "__main__":
    raise SystemExit(main())
