"""The container set-ups stay valid: every compose profile, the scaled wiring and the load balancer's config."""

from __future__ import annotations

import atexit
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
NGINX_CONF = ROOT / "deploy" / "nginx.conf"
COMPOSE = shutil.which("docker-compose")
NGINX = shutil.which("nginx")
SECRET = "x" * 48

# Every profile the compose file declares; a new one must be added here (and get its own checks).
PROFILES = ("postgres", "scale", "gpu")

needs_compose = pytest.mark.skipif(COMPOSE is None, reason="docker-compose is not installed (.ci/run installs it)")


# ---- docker-compose config -------------------------------------------------------------------


def _hermetic_env() -> dict[str, str]:
    """The environment without anything the compose file reads, so the checks see its defaults."""
    read = set(re.findall(r"\$\{([A-Za-z0-9_]+)", COMPOSE_FILE.read_text()))
    return {name: value for name, value in os.environ.items() if name not in read}


# An empty env file instead of the checkout's .env (a developer's settings would change the defaults).
_EMPTY_ENV_FILE = tempfile.NamedTemporaryFile(prefix="compose-", suffix=".env", delete=False)  # noqa: SIM115
_EMPTY_ENV_FILE.close()
atexit.register(os.unlink, _EMPTY_ENV_FILE.name)


def _run_compose(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    assert COMPOSE is not None
    return subprocess.run(
        [COMPOSE, "--env-file", _EMPTY_ENV_FILE.name, "-f", str(COMPOSE_FILE), *args],
        cwd=ROOT,
        env=env if env is not None else {**_hermetic_env(), "CODESMITH_SECRET_KEY": SECRET},
        capture_output=True,
        text=True,
        check=False,
    )


_configs: dict[str | None, dict[str, Any]] = {}


def compose_config(profile: str | None) -> dict[str, Any]:
    """`docker-compose [--profile P] config`, parsed (and run once per profile)."""
    if profile not in _configs:
        result = _run_compose(*(["--profile", profile] if profile else []), "config")
        assert result.returncode == 0, result.stderr
        _configs[profile] = yaml.safe_load(result.stdout)
    return _configs[profile]


def active_services(profile: str | None) -> dict[str, dict[str, Any]]:
    """The services `up` starts with this profile: those without profiles and those in it.

    docker-compose 1.x prints every service of the file, 2.x only the active ones; both keep `profiles`.
    """
    services = compose_config(profile)["services"]
    return {
        name: service
        for name, service in services.items()
        if not service.get("profiles") or (profile is not None and profile in service["profiles"])
    }


def depends_on(service: dict[str, Any]) -> dict[str, str]:
    """Dependency -> condition (the short list form means service_started)."""
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {name: (spec or {}).get("condition", "service_started") for name, spec in deps.items()}


def closure(services: dict[str, dict[str, Any]], name: str) -> set[str]:
    """Everything `up NAME` starts besides NAME."""
    seen: set[str] = set()
    todo = [name]
    while todo:
        for dep in depends_on(services[todo.pop()]):
            if dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return seen


def published_ports(service: dict[str, Any]) -> list[tuple[str, int]]:
    """(host port, container port) for each published port, long or short syntax."""
    ports = []
    for port in service.get("ports") or []:
        if isinstance(port, dict):
            if port.get("published") is not None:
                ports.append((str(port["published"]), int(port["target"])))
        else:
            parts = str(port).split(":")
            if len(parts) >= 2:
                ports.append((parts[-2], int(parts[-1].split("/")[0])))
    return ports


def mounts(service: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """(source, target, read-only) for each volume, long or short syntax."""
    result = []
    for volume in service.get("volumes") or []:
        if isinstance(volume, dict):
            result.append((str(volume.get("source")), volume["target"], bool(volume.get("read_only"))))
        else:
            source, target, *mode = str(volume).split(":")
            result.append((source, target, bool(mode) and "ro" in mode[0].split(",")))
    return result


def networks(service: dict[str, Any]) -> set[str]:
    nets = service.get("networks")
    if nets is None:
        return {"default"}
    return set(nets)


def command(service: dict[str, Any]) -> list[str]:
    cmd = service.get("command") or []
    return cmd.split() if isinstance(cmd, str) else [str(part) for part in cmd]


def flags(args: list[str]) -> dict[str, str]:
    """`--name=value`, `--name value` and bare `--name` (value "") as a dict."""
    result: dict[str, str] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if arg.startswith("--"):
            if "=" in arg:
                name, value = arg[2:].split("=", 1)
            elif i + 1 < len(args) and not args[i + 1].startswith("--"):
                name, value = arg[2:], args[i + 1]
                i += 1
            else:
                name, value = arg[2:], ""
            result[name] = value
        i += 1
    return result


def replicas(service: dict[str, Any]) -> int:
    return int((service.get("deploy") or {}).get("replicas", service.get("scale", 1)))


def builds_codesmith(service: dict[str, Any]) -> bool:
    return str(service.get("image", "")).startswith("codesmith:") or "build" in service


def migrates(service: dict[str, Any]) -> bool:
    """Whether the container runs the migrations: `codesmith migrate`, `serve --migrate`, or the image's own command."""
    if not builds_codesmith(service):
        return False
    cmd = command(service)
    return not cmd or "migrate" in cmd or "--migrate" in cmd


def test_every_profile_of_the_compose_file_is_checked() -> None:
    raw = yaml.safe_load(COMPOSE_FILE.read_text())
    declared = {profile for service in raw["services"].values() for profile in service.get("profiles", [])}
    assert declared == set(PROFILES)


@needs_compose
@pytest.mark.parametrize("profile", [None, *PROFILES])
class TestEveryProfile:
    def test_compose_file_is_accepted(self, profile: str | None) -> None:
        result = _run_compose(*(["--profile", profile] if profile else []), "config", "-q")
        assert result.returncode == 0, result.stderr

    def test_dependencies_are_started_by_the_same_profile(self, profile: str | None) -> None:
        services = active_services(profile)
        missing = {
            name: dep for name, service in services.items() for dep in depends_on(service) if dep not in services
        }
        assert missing == {}

    def test_services_waited_on_until_healthy_have_a_healthcheck(self, profile: str | None) -> None:
        services = active_services(profile)
        waited = {dep for s in services.values() for dep, cond in depends_on(s).items() if cond == "service_healthy"}
        assert [name for name in waited if not services[name].get("healthcheck")] == []

    def test_no_host_port_is_published_twice(self, profile: str | None) -> None:
        services = active_services(profile)
        host_ports = [host for service in services.values() for host, _ in published_ports(service)]
        assert len(host_ports) == len(set(host_ports))
        # A replicated service cannot publish a host port: every replica would ask for the same one.
        assert [name for name, s in services.items() if replicas(s) > 1 and published_ports(s)] == []

    def test_every_volume_and_network_is_declared(self, profile: str | None) -> None:
        config = compose_config(profile)
        named = {source for s in active_services(profile).values() for source, _, _ in mounts(s) if "/" not in source}
        assert named <= set(config.get("volumes") or {})
        nets = {net for s in active_services(profile).values() for net in networks(s)} - {"default"}
        assert nets <= set(config.get("networks") or {})


@needs_compose
def test_compose_refuses_to_start_without_a_secret() -> None:
    env = _hermetic_env()
    for profile in [None, *PROFILES]:
        result = _run_compose(*(["--profile", profile] if profile else []), "config", "-q", env=env)
        assert result.returncode != 0
        assert "CODESMITH_SECRET_KEY" in result.stderr


def test_image_runs_migrations_then_the_server_as_non_root() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "USER codesmith" in dockerfile
    assert "codesmith migrate && exec codesmith serve" in dockerfile


@needs_compose
class TestDefault:
    def test_one_api_on_sqlite_publishes_port_8000_and_migrates_itself(self) -> None:
        services = active_services(None)
        assert set(services) == {"api"}
        api = services["api"]
        assert published_ports(api) == [("8000", 8000)]
        assert api["environment"]["CODESMITH_DATABASE_URL"].startswith("sqlite+aiosqlite:")
        assert replicas(api) == 1
        assert migrates(api)  # the image's command: migrate, then serve

    def test_postgres_profile_adds_only_the_database(self) -> None:
        assert set(active_services("postgres")) == {"api", "postgres"}


@needs_compose
class TestScale:
    @pytest.fixture
    def services(self) -> dict[str, dict[str, Any]]:
        return active_services("scale")

    def test_the_load_balancer_starts_the_whole_scaled_set_up(self, services: dict[str, dict[str, Any]]) -> None:
        assert closure(services, "lb") == {"api-replica", "migrate", "postgres", "redis"}

    def test_three_replicas_without_host_ports(self, services: dict[str, dict[str, Any]]) -> None:
        replica = services["api-replica"]
        assert replicas(replica) == 3
        assert published_ports(replica) == []
        assert "container_name" not in replica

    def test_replicas_serve_without_migrating_and_wait_for_the_migration(self, services: dict[str, Any]) -> None:
        replica = services["api-replica"]
        assert command(replica)[:2] == ["codesmith", "serve"]
        assert flags(command(replica)) == {"host": "0.0.0.0", "port": "8000"}  # one worker: replicas scale out
        assert depends_on(replica) == {
            "migrate": "service_completed_successfully",
            "postgres": "service_healthy",
            "redis": "service_healthy",
        }

    def test_migrations_run_once_in_a_one_shot_service(self, services: dict[str, dict[str, Any]]) -> None:
        migrate = services["migrate"]
        assert command(migrate) == ["codesmith", "migrate"]
        assert replicas(migrate) == 1
        assert str(migrate.get("restart", "no")) in {"no", "False", "false"}
        assert depends_on(migrate) == {"postgres": "service_healthy"}
        assert [name for name in closure(services, "lb") | {"lb"} if migrates(services[name])] == ["migrate"]

    def test_replicas_share_database_redis_and_secret(self, services: dict[str, dict[str, Any]]) -> None:
        replica = services["api-replica"]["environment"]
        migrate = services["migrate"]["environment"]
        assert replica["CODESMITH_DATABASE_URL"].startswith("postgresql+asyncpg://")
        assert "@postgres:5432/" in replica["CODESMITH_DATABASE_URL"]
        assert replica["CODESMITH_REDIS_URL"] == "redis://redis:6379/0"
        assert replica["CODESMITH_SECRET_KEY"] == SECRET
        assert replica["CODESMITH_ENV"] == "production"
        assert migrate["CODESMITH_DATABASE_URL"] == replica["CODESMITH_DATABASE_URL"]
        assert int(replica["CODESMITH_GENERATION_LEASE_SECONDS"]) > 0

    def test_replicas_trust_forwarded_headers_from_the_load_balancers_network_only(self) -> None:
        config = compose_config("scale")
        services = active_services("scale")
        subnets = [pool["subnet"] for pool in config["networks"]["edge"]["ipam"]["config"]]
        assert services["api-replica"]["environment"]["CODESMITH_TRUSTED_PROXIES"] == ",".join(subnets)
        on_edge = {name for name, service in services.items() if "edge" in networks(service)}
        assert on_edge == {"lb", "api-replica"}

    def test_replicas_are_healthy_when_the_database_answers(self, services: dict[str, dict[str, Any]]) -> None:
        replica = services["api-replica"]
        assert "/readyz" in " ".join(replica["healthcheck"]["test"])
        # Long enough for running generations to finish after SIGTERM.
        assert _seconds(str(replica["stop_grace_period"])) >= 30

    def test_the_load_balancer_publishes_the_port_with_the_nginx_config(self, services: dict[str, Any]) -> None:
        lb = services["lb"]
        assert str(lb["image"]).startswith("nginx:")
        assert published_ports(lb) == [("8080", 80)]
        assert any(
            Path(source) == NGINX_CONF and target == "/etc/nginx/nginx.conf" and read_only
            for source, target, read_only in mounts(lb)
        )
        assert depends_on(lb) == {"api-replica": "service_healthy"}
        health_path = re.search(r"http://127\.0\.0\.1(/\S*)", " ".join(lb["healthcheck"]["test"]))
        assert health_path is not None
        assert any(loc.args == ["=", health_path.group(1)] for loc in nginx_conf().find_all("location"))

    def test_the_load_balancer_resolves_the_replicas_by_service_name(self, services: dict[str, Any]) -> None:
        server = nginx_conf().block("http").block("upstream").get("server")
        assert server is not None
        host, port = server.args[0].rsplit(":", 1)
        assert host == "api-replica"
        assert port == flags(command(services["api-replica"]))["port"]

    def test_postgres_and_redis_are_official_images_with_healthchecks(self, services: dict[str, Any]) -> None:
        assert str(services["postgres"]["image"]).startswith("postgres:")
        assert "pg_isready" in services["postgres"]["healthcheck"]["test"]
        # Every replica's pool (up to 30 connections, db.py) fits, and the migration's.
        pg_args = command(services["postgres"])
        settings = dict(pg_args[i + 1].split("=", 1) for i, arg in enumerate(pg_args) if arg == "-c")
        assert int(settings["max_connections"]) >= 30 * replicas(services["api-replica"]) + 10
        assert str(services["redis"]["image"]).startswith("redis:")
        assert "ping" in services["redis"]["healthcheck"]["test"]
        assert any(target == "/data" for _, target, _ in mounts(services["redis"]))


@needs_compose
class TestGpu:
    @pytest.fixture
    def services(self) -> dict[str, dict[str, Any]]:
        return active_services("gpu")

    @staticmethod
    def vllm_replicas(services: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        return {name: s for name, s in services.items() if str(s.get("image", "")).startswith("vllm/vllm-openai:")}

    def test_the_router_routes_by_the_session_header(self, services: dict[str, dict[str, Any]]) -> None:
        router = services["vllm-router"]
        assert str(router["image"]).startswith("lmcache/lmstack-router:")
        args = flags(command(router))
        assert args["routing-logic"] == "session"
        assert args["session-key"] == "X-Session-ID"
        assert services["api"]["environment"]["CODESMITH_VLLM_SESSION_HEADER"] == args["session-key"]
        assert args["service-discovery"] == "static"

    def test_the_router_knows_every_vllm_replica(self, services: dict[str, dict[str, Any]]) -> None:
        args = flags(command(services["vllm-router"]))
        engines = self.vllm_replicas(services)
        assert len(engines) >= 2
        backends = args["static-backends"].split(",")
        assert sorted(backends) == sorted(f"http://{name}:8000" for name in engines)
        models = args["static-models"].split(",")
        assert len(models) == len(backends)
        assert {m for m in models} == {flags(command(s))["model"] for s in engines.values()}
        # Health checks (which leave a dead replica out) need a type per backend.
        assert "static-backend-health-checks" in args
        assert args["static-model-types"].split(",") == ["chat"] * len(backends)
        assert set(depends_on(services["vllm-router"])) == set(engines)

    def test_each_vllm_replica_has_its_own_gpu_and_the_shared_model_cache(self, services: dict[str, Any]) -> None:
        gpus = []
        for service in self.vllm_replicas(services).values():
            (device,) = service["deploy"]["resources"]["reservations"]["devices"]
            assert device["driver"] == "nvidia"
            assert "gpu" in device["capabilities"]
            gpus += device["device_ids"]
            assert ("huggingface-cache", "/root/.cache/huggingface", False) in mounts(service)
            assert "--enable-prefix-caching" in command(service)
        assert len(gpus) == len(set(gpus))

    def test_codesmith_talks_to_the_router(self) -> None:
        router_port = flags(command(active_services("gpu")["vllm-router"]))["port"]
        for profile, name in [("gpu", "api"), ("scale", "api-replica")]:
            env = active_services(profile)[name]["environment"]
            assert env["CODESMITH_VLLM_BASE_URL"] == f"http://vllm-router:{router_port}/v1"


def _seconds(value: str) -> float:
    """An nginx or compose duration (`900s`, `15m`, `1m30s`, `600`) in seconds."""
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "": 1}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|)", value.strip())
    assert parts and "".join(n + u for n, u in parts) == value.strip(), value
    return sum(float(n) * units[u] for n, u in parts)


def _bytes(value: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([kKmMgG]?)", value).groups()  # type: ignore[union-attr]
    return int(number) * {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[unit.lower()]


# ---- the nginx config, checked without nginx ---------------------------------------------------


@dataclass
class Directive:
    name: str
    args: list[str]
    children: list[Directive] | None = None
    line: int = 0

    def all(self, name: str) -> list[Directive]:
        return [child for child in self.children or [] if child.name == name]

    def get(self, name: str) -> Directive | None:
        found = self.all(name)
        return found[-1] if found else None

    def block(self, name: str) -> Directive:
        (found,) = [child for child in self.all(name) if child.children is not None]
        return found

    def find_all(self, name: str) -> Iterator[Directive]:
        for child in self.children or []:
            if child.name == name:
                yield child
            yield from child.find_all(name)


def _tokenize(text: str) -> list[tuple[str, int, bool]]:
    tokens: list[tuple[str, int, bool]] = []
    i, line = 0, 1
    while i < len(text):
        char = text[i]
        if char == "\n":
            line += 1
            i += 1
        elif char.isspace():
            i += 1
        elif char == "#":
            while i < len(text) and text[i] != "\n":
                i += 1
        elif char in "{};":
            tokens.append((char, line, False))
            i += 1
        elif char in "\"'":
            end = i + 1
            while end < len(text) and text[end] != char:
                end += 2 if text[end] == "\\" else 1
            if end >= len(text):
                raise SyntaxError(f"line {line}: unterminated quote")
            tokens.append((text[i + 1 : end], line, True))
            line += text[i:end].count("\n")
            i = end + 1
        else:
            end = i
            while end < len(text) and not text[end].isspace() and text[end] not in "{};\"'#":
                end += 1
            tokens.append((text[i:end], line, False))
            i = end
    return tokens


def parse_nginx(text: str) -> Directive:
    """nginx's grammar: `name args... ;` or `name args... { ... }`; raises SyntaxError where nginx would."""
    tokens = _tokenize(text)
    pos = 0

    def block(depth: int) -> list[Directive]:
        nonlocal pos
        directives: list[Directive] = []
        while pos < len(tokens):
            word, line, quoted = tokens[pos]
            if word == "}" and not quoted:
                if depth == 0:
                    raise SyntaxError(f"line {line}: unexpected }}")
                pos += 1
                return directives
            if word in "{;" and not quoted:
                raise SyntaxError(f"line {line}: unexpected {word}")
            name, args = word, []
            pos += 1
            while pos < len(tokens) and (tokens[pos][2] or tokens[pos][0] not in "{};"):
                args.append(tokens[pos][0])
                pos += 1
            if pos == len(tokens):
                raise SyntaxError(f"line {line}: {name} is not terminated by ; or {{")
            end = tokens[pos][0]
            pos += 1
            if end == ";":
                directives.append(Directive(name, args, None, line))
            elif end == "{":
                directives.append(Directive(name, args, block(depth + 1), line))
            else:
                raise SyntaxError(f"line {line}: {name} is not terminated by ;")
        if depth:
            raise SyntaxError("unbalanced {: end of file inside a block")
        return directives

    return Directive("main", [], block(0))


# The directives this config may use, by context (nginx's own docs); catches typos and misplacements.
ALLOWED = {
    "main": {"worker_processes", "worker_rlimit_nofile", "error_log", "pid", "events", "http", "user"},
    "events": {"worker_connections", "multi_accept", "use"},
    "http": {
        "server_tokens", "default_type", "resolver", "resolver_timeout", "map", "log_format", "access_log",
        "upstream", "server", "client_max_body_size", "proxy_request_buffering", "sendfile", "tcp_nopush",
        "keepalive_timeout", "gzip", "include", "error_log",
    },
    "upstream": {"least_conn", "zone", "server", "keepalive", "keepalive_timeout", "keepalive_requests", "resolver"},
    "server": {
        "listen", "server_name", "client_max_body_size", "proxy_request_buffering", "location", "access_log",
        "error_log", "proxy_buffering", "proxy_read_timeout",
    },
    "location": {
        "proxy_pass", "proxy_http_version", "proxy_set_header", "proxy_buffering", "proxy_cache",
        "proxy_read_timeout", "proxy_send_timeout", "proxy_connect_timeout", "send_timeout", "gzip",
        "proxy_next_upstream", "proxy_next_upstream_tries", "proxy_next_upstream_timeout", "access_log",
        "default_type", "return", "client_max_body_size", "proxy_request_buffering", "location",
        "proxy_ignore_headers", "add_header",
    },
}  # fmt: skip
BLOCKS = {"events", "http", "upstream", "server", "location", "map"}


def _is_block(context: str, name: str) -> bool:
    return name in BLOCKS and not (context == "upstream" and name == "server")


def nginx_conf() -> Directive:
    return parse_nginx(NGINX_CONF.read_text())


def _proxied_location() -> tuple[Directive, Directive, Directive]:
    """(http, server, the location that proxies to the replicas)."""
    http = nginx_conf().block("http")
    server = http.block("server")
    (location,) = [loc for loc in server.find_all("location") if loc.get("proxy_pass")]
    return http, server, location


def _effective(name: str, *scopes: Directive) -> Directive | None:
    """A directive as nginx applies it: the innermost scope that sets it (scopes innermost first)."""
    for scope in scopes:
        found = scope.get(name)
        if found is not None:
            return found
    return None


class TestNginxConfig:
    def test_parses(self) -> None:
        nginx_conf()

    def test_the_parser_rejects_what_nginx_rejects(self) -> None:
        for broken in ["http { server { listen 80; }", "http { listen 80 }", "events { } }", "a 'b;"]:
            with pytest.raises(SyntaxError):
                parse_nginx(broken)

    def test_every_directive_is_known_in_its_context(self) -> None:
        def walk(scope: Directive) -> Iterator[tuple[str, Directive]]:
            for child in scope.children or []:
                yield scope.name, child
                if child.name != "map":  # a map's body is key/value pairs, not directives
                    yield from walk(child)

        wrong = [
            f"line {d.line}: {d.name} in {context}"
            for context, d in walk(nginx_conf())
            if d.name not in ALLOWED[context] or (d.children is not None) != _is_block(context, d.name)
        ]
        assert wrong == []

    def test_streams_are_not_buffered(self) -> None:
        http, server, location = _proxied_location()
        assert _effective("proxy_buffering", location, server, http).args == ["off"]  # type: ignore[union-attr]
        # The replicas' X-Accel-Buffering: no is honoured, never ignored.
        ignored = [arg.lower() for d in nginx_conf().find_all("proxy_ignore_headers") for arg in d.args]
        assert "x-accel-buffering" not in ignored
        assert _effective("proxy_cache", location, server, http).args == ["off"]  # type: ignore[union-attr]
        gzip = _effective("gzip", location, server, http)
        assert gzip is None or gzip.args == ["off"]

    def test_http_1_1_with_keepalive_to_the_replicas(self) -> None:
        http, _, location = _proxied_location()
        assert location.get("proxy_http_version").args == ["1.1"]  # type: ignore[union-attr]
        headers = {d.args[0].lower(): d.args[1] for d in location.all("proxy_set_header")}
        assert headers["connection"] == ""
        upstream = http.block("upstream")
        assert location.get("proxy_pass").args == [f"http://{upstream.args[0]}"]  # type: ignore[union-attr]
        assert upstream.get("keepalive") is not None

    def test_answers_may_stream_for_ten_minutes(self) -> None:
        http, server, location = _proxied_location()
        read_timeout = _effective("proxy_read_timeout", location, server, http)
        assert read_timeout is not None
        assert _seconds(read_timeout.args[0]) >= 600
        send_timeout = _effective("proxy_send_timeout", location, server, http)
        assert send_timeout is None or _seconds(send_timeout.args[0]) >= 60

    def test_uploads_up_to_fifty_mebibytes_pass(self) -> None:
        http, server, location = _proxied_location()
        body = _effective("client_max_body_size", location, server, http)
        assert body is not None
        assert _bytes(body.args[0]) == 0 or _bytes(body.args[0]) >= 50 * 1024**2
        assert _effective("proxy_request_buffering", location, server, http).args == ["off"]  # type: ignore[union-attr]

    def test_the_client_address_and_scheme_are_forwarded(self) -> None:
        _, _, location = _proxied_location()
        headers = {d.args[0].lower(): d.args[1] for d in location.all("proxy_set_header")}
        assert headers["x-forwarded-for"] == "$proxy_add_x_forwarded_for"
        assert headers["x-forwarded-proto"] == "$scheme"
        assert headers["host"] == "$host"

    def test_replicas_are_found_through_dockers_dns_and_balanced(self) -> None:
        http = nginx_conf().block("http")
        resolver = http.get("resolver")
        assert resolver is not None
        assert resolver.args[0] == "127.0.0.11"
        upstream = http.block("upstream")
        (server,) = upstream.all("server")
        # `resolve` keeps one peer per replica address, re-resolved as replicas come and go (needs a zone).
        assert "resolve" in server.args
        assert upstream.get("zone") is not None
        assert upstream.get("least_conn") is not None

    def test_many_streams_fit(self) -> None:
        connections = nginx_conf().block("events").get("worker_connections")
        assert connections is not None
        assert int(connections.args[0]) >= 4096


# ---- nginx itself, where it is installed (not in CI) -------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _local_config(tmp: Path, listen: int, backends: list[int]) -> Path:
    """deploy/nginx.conf pointed at local backends, its files under tmp (runs as any user)."""
    text = NGINX_CONF.read_text()
    servers = "".join(f"server 127.0.0.1:{port} max_fails=2 fail_timeout=5s;\n        " for port in backends)
    text, count = re.subn(r"server api-replica:8000 [^;]*;\n\s*", servers, text)
    assert count == 1
    text = text.replace("listen 80;", f"listen 127.0.0.1:{listen};")
    temp_paths = "".join(
        f"    {name}_temp_path {tmp / name};\n" for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    text = text.replace("http {\n", "http {\n" + temp_paths, 1)
    path = tmp / "nginx.conf"
    path.write_text(text)
    return path


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed (not needed in CI: the structure is checked above)")
def test_nginx_accepts_the_config(tmp_path: Path) -> None:
    assert NGINX is not None
    conf = _local_config(tmp_path, _free_port(), [_free_port()])
    result = subprocess.run(
        [NGINX, "-t", "-p", str(tmp_path), "-c", str(conf), "-g", f"pid {tmp_path / 'nginx.pid'};"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


class _StreamingBackend(BaseHTTPRequestHandler):
    """Answers every GET with one event, waits for `release`, then a second; records what it was sent.

    No X-Accel-Buffering header: the config alone must pass each event on at once.
    """

    protocol_version = "HTTP/1.1"
    release = threading.Event()
    seen: list[tuple[int, dict[str, str]]] = []

    def do_GET(self) -> None:
        type(self).seen.append((int(self.connection.getsockname()[1]), dict(self.headers)))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for n, wait in enumerate([False, True]):
            if wait:
                type(self).release.wait(10)
            data = f"id: {n}\ndata: event {n}\n\n".encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed (not needed in CI)")
def test_nginx_passes_each_event_on_at_once_and_balances(tmp_path: Path) -> None:
    assert NGINX is not None
    backends = [ThreadingHTTPServer(("127.0.0.1", 0), _StreamingBackend) for _ in range(2)]
    for backend in backends:
        threading.Thread(target=backend.serve_forever, daemon=True).start()
    listen = _free_port()
    conf = _local_config(tmp_path, listen, [b.server_address[1] for b in backends])
    proc = subprocess.Popen(
        [NGINX, "-p", str(tmp_path), "-c", str(conf), "-g", f"daemon off; pid {tmp_path / 'nginx.pid'};"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", listen), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                assert time.monotonic() < deadline
                time.sleep(0.05)
        for _ in range(2):
            _StreamingBackend.release.clear()
            with socket.create_connection(("127.0.0.1", listen), timeout=5) as sock:
                sock.sendall(b"GET /stream HTTP/1.1\r\nHost: codesmith\r\nX-Forwarded-For: 203.0.113.9\r\n\r\n")
                received = b""
                while b"data: event 0" not in received:  # arrives while the backend still holds event 1
                    chunk = sock.recv(4096)
                    assert chunk, received
                    received += chunk
                _StreamingBackend.release.set()
                while b"data: event 1" not in received:
                    chunk = sock.recv(4096)
                    assert chunk, received
                    received += chunk
        ports = {port for port, _ in _StreamingBackend.seen}
        assert ports == {b.server_address[1] for b in backends}
        headers = {k.lower(): v for k, v in _StreamingBackend.seen[-1][1].items()}
        assert headers["x-forwarded-for"] == "203.0.113.9, 127.0.0.1"
        assert headers["x-forwarded-proto"] == "http"
        assert headers["x-request-id"]
    finally:
        proc.terminate()
        proc.wait(10)
        for backend in backends:
            backend.shutdown()
