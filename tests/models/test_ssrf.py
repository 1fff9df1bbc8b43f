"""The SSRF guard: internal hosts refused at registration, and at every connection (DNS rebinding, redirects).

Name resolution is replaced by a table: no test ever asks a real DNS server or contacts an outside host.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import Any

import httpx
import httpx2
import pytest
from fastapi import FastAPI

from codesmith.config import Settings
from codesmith.errors import ForbiddenModelHost, ValidationFailed
from codesmith.llm import ssrf
from codesmith.llm.client import ChatClient
from codesmith.llm.types import ChatMessage, Endpoint
from tests.conftest import UserHandle
from tests.fakes.upstream import FakeUpstream

PUBLIC_IP = "93.184.216.34"
MESSAGES: list[ChatMessage] = [{"role": "user", "content": "reverse a list in python"}]


class Resolver:
    """Stands in for DNS: answers from a table that a test can change between calls."""

    def __init__(self, table: dict[str, list[str]] | None = None) -> None:
        self.table = table or {}
        self.calls: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append(host)
        if host not in self.table:
            raise socket.gaierror(f"unknown host {host}")
        return self.table[host]


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> Resolver:
    fake = Resolver()
    monkeypatch.setattr(ssrf, "resolve_host", fake)
    return fake


FORBIDDEN_URLS = [
    "http://127.0.0.1:8000/v1",
    "http://localhost:8000/v1",
    "http://api.localhost/v1",
    "http://[::1]/v1",
    "http://[::ffff:127.0.0.1]/v1",
    "http://2130706433/v1",
    "http://0x7f.1/v1",
    "http://017700000001/v1",
    "http://127.1/v1",
    "http://0.0.0.0/v1",
    "http://[::]/v1",
    "http://10.1.2.3/v1",
    "http://172.16.0.1/v1",
    "http://192.168.1.10/v1",
    "http://100.64.0.1/v1",
    "http://[fc00::1]/v1",
    "http://[fe80::1]/v1",
    "http://169.254.10.10/v1",
    "http://169.254.169.254/latest/meta-data",
    "http://[fd00:ec2::254]/v1",
    "http://100.100.100.200/v1",
    "http://metadata.google.internal/computeMetadata/v1",
    "http://224.0.0.1/v1",
    "http://240.0.0.1/v1",
    "https://[2002:7f00:1::1]/v1",
]


class TestAddressRules:
    @pytest.mark.parametrize("url", FORBIDDEN_URLS)
    async def test_internal_hosts_are_refused_without_asking_dns(self, resolver: Resolver, url: str) -> None:
        with pytest.raises(ForbiddenModelHost):
            await ssrf.check_base_url(url, allow_private=False)
        assert resolver.calls == [], "literal addresses and reserved names need no lookup"

    @pytest.mark.parametrize("url", ["http://8.8.8.8/v1", "https://[2606:4700::1111]/v1", "http://134744072/v1"])
    async def test_public_addresses_are_allowed(self, resolver: Resolver, url: str) -> None:
        await ssrf.check_base_url(url, allow_private=False)

    @pytest.mark.parametrize(
        ("addresses", "allowed"),
        [
            ([PUBLIC_IP], True),
            (["2606:4700::1111"], True),
            (["10.0.0.5"], False),
            ([PUBLIC_IP, "127.0.0.1"], False),
            (["::ffff:169.254.169.254"], False),
        ],
    )
    async def test_a_name_is_judged_by_every_address_it_resolves_to(
        self, resolver: Resolver, addresses: list[str], allowed: bool
    ) -> None:
        resolver.table["models.example.com"] = addresses
        check = ssrf.check_base_url("https://models.example.com/v1", allow_private=False)
        if allowed:
            await check
        else:
            with pytest.raises(ForbiddenModelHost):
                await check

    async def test_an_unresolvable_name_is_refused_like_an_internal_one(self, resolver: Resolver) -> None:
        with pytest.raises(ForbiddenModelHost):
            await ssrf.check_base_url("http://nowhere.example/v1", allow_private=False)

    async def test_not_resolving_and_resolving_inside_read_the_same(self, resolver: Resolver) -> None:
        # Two answers would be an oracle for which internal names exist.
        with pytest.raises(ForbiddenModelHost) as unresolved:
            await ssrf.check_base_url("http://jenkins.corp.example/v1", allow_private=False)
        resolver.table["jenkins.corp.example"] = ["10.0.0.7"]
        with pytest.raises(ForbiddenModelHost) as internal:
            await ssrf.check_base_url("http://jenkins.corp.example/v1", allow_private=False)
        assert unresolved.value.problem() == internal.value.problem()

    async def test_a_resolver_that_never_answers_is_refused_alike(
        self, resolver: Resolver, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        async def hang(host: str, port: int) -> list[str]:
            await asyncio.sleep(3600)
            return []

        monkeypatch.setattr(ssrf, "resolve_host", hang)
        monkeypatch.setattr(ssrf, "RESOLVE_TIMEOUT_SECONDS", 0.05)
        with pytest.raises(ForbiddenModelHost) as slow:
            await ssrf.check_base_url("http://slow.example/v1", allow_private=False)
        assert slow.value.detail == ssrf.FORBIDDEN_DETAIL.format(host="slow.example")

    async def test_private_hosts_are_allowed_when_the_setting_says_so(self, resolver: Resolver) -> None:
        await ssrf.check_base_url("http://127.0.0.1:8000/v1", allow_private=True)

    @pytest.mark.parametrize("url", ["ftp://example.com/v1", "file:///etc/passwd", "http:///v1", "gopher://x/"])
    async def test_only_http_urls_with_a_host(self, url: str) -> None:
        with pytest.raises(ValidationFailed):
            await ssrf.check_base_url(url, allow_private=True)


class Recorder(httpx2.AsyncBaseTransport):
    """The connection the guard hands on: records it, answers 200 (or what `answer` says)."""

    def __init__(self, answer: Callable[[httpx2.Request], httpx2.Response] | None = None) -> None:
        self.requests: list[httpx2.Request] = []
        self.answer = answer or (lambda request: httpx2.Response(200, json={"data": []}))

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        return self.answer(request)


class TestGuardedTransport:
    async def test_connects_to_the_checked_address_keeping_the_name(self, resolver: Resolver) -> None:
        resolver.table["models.example.com"] = [PUBLIC_IP]
        inner = Recorder()
        async with httpx2.AsyncClient(transport=ssrf.GuardedTransport(inner)) as http:
            response = await http.get("https://models.example.com:8443/v1/models")
        assert response.status_code == 200
        (sent,) = inner.requests
        assert sent.url.host == PUBLIC_IP and sent.url.port == 8443 and sent.url.path == "/v1/models"
        assert sent.headers["host"] == "models.example.com:8443"
        assert sent.extensions["sni_hostname"] == "models.example.com"

    async def test_dns_rebinding_is_refused_before_any_connection(self, resolver: Resolver) -> None:
        resolver.table["rebind.example.com"] = [PUBLIC_IP]
        await ssrf.check_base_url("http://rebind.example.com/v1", allow_private=False)  # registered fine
        resolver.table["rebind.example.com"] = ["127.0.0.1"]  # then the name points inside
        inner = Recorder()
        async with httpx2.AsyncClient(transport=ssrf.GuardedTransport(inner)) as http:
            with pytest.raises(ForbiddenModelHost):
                await http.get("http://rebind.example.com/v1/models")
        assert inner.requests == []

    async def test_every_redirect_hop_is_checked(self, resolver: Resolver) -> None:
        resolver.table["models.example.com"] = [PUBLIC_IP]
        inner = Recorder(lambda request: httpx2.Response(307, headers={"Location": "http://0x7f.1:8000/admin"}))
        async with httpx2.AsyncClient(transport=ssrf.GuardedTransport(inner), follow_redirects=True) as http:
            with pytest.raises(ForbiddenModelHost):
                await http.get("http://models.example.com/v1/models")
        assert [r.url.host for r in inner.requests] == [PUBLIC_IP]

    async def test_an_unresolvable_name_is_refused_like_an_internal_one(self, resolver: Resolver) -> None:
        inner = Recorder()
        async with httpx2.AsyncClient(transport=ssrf.GuardedTransport(inner)) as http:
            with pytest.raises(ForbiddenModelHost) as unresolved:
                await http.get("http://moved.example/v1/models")
            resolver.table["moved.example"] = ["192.168.0.3"]
            with pytest.raises(ForbiddenModelHost) as internal:
                await http.get("http://moved.example/v1/models")
        assert unresolved.value.problem() == internal.value.problem()
        assert inner.requests == []

    def test_only_guarded_endpoints_get_the_guard(self) -> None:
        assert ssrf.guarded_transport_factory(Endpoint("http://x/v1", "m", guarded=False)) is None
        assert isinstance(
            ssrf.guarded_transport_factory(Endpoint("http://x/v1", "m", guarded=True)), ssrf.GuardedTransport
        )


class LoopbackNat(httpx2.AsyncBaseTransport):
    """Routes the 'public' test address to the fake upstream on 127.0.0.1, over real sockets."""

    def __init__(self) -> None:
        self.real = httpx2.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        assert request.url.host == PUBLIC_IP, "the guard hands on only the address it checked"
        routed = httpx2.Request(
            request.method,
            request.url.copy_with(host="127.0.0.1"),
            headers=request.headers,
            stream=request.stream,
            extensions=request.extensions,
        )
        return await self.real.handle_async_request(routed)

    async def aclose(self) -> None:
        await self.real.aclose()


def nat_factory(endpoint: Endpoint) -> httpx2.AsyncBaseTransport | None:
    return ssrf.GuardedTransport(LoopbackNat()) if endpoint.guarded else None


def guarded_endpoint(fake: FakeUpstream, host: str) -> Endpoint:
    port = fake.url.rsplit(":", 1)[1]
    return Endpoint(base_url=f"http://{host}:{port}/v1", model="fake-coder", guarded=True)


class TestChatClientGuard:
    @pytest.fixture
    def llm(self) -> ChatClient:
        return ChatClient(
            Settings(_env_file=None, secret_key="x" * 40), transport_factory=ssrf.guarded_transport_factory
        )

    async def test_a_rebound_name_never_reaches_the_server(
        self, llm: ChatClient, resolver: Resolver, fake_upstream: FakeUpstream
    ) -> None:
        resolver.table["rebind.example.com"] = ["127.0.0.1"]
        endpoint = guarded_endpoint(fake_upstream, "rebind.example.com")
        with pytest.raises(ForbiddenModelHost):
            async for _ in llm.stream_chat(endpoint, MESSAGES):
                pass
        with pytest.raises(ForbiddenModelHost):
            await llm.list_models(endpoint)
        assert fake_upstream.chat_attempts == 0 and fake_upstream.models_requests == 0
        assert resolver.calls, "the guard resolved the name itself"
        await llm.aclose()

    async def test_a_redirect_to_loopback_is_refused(self, resolver: Resolver, fake_upstream: FakeUpstream) -> None:
        resolver.table["models.example.com"] = [PUBLIC_IP]
        llm = ChatClient(Settings(_env_file=None, secret_key="x" * 40), transport_factory=nat_factory)
        endpoint = guarded_endpoint(fake_upstream, "models.example.com")
        assert [m["id"] for m in await llm.list_models(endpoint)] == ["fake-coder"]
        assert fake_upstream.models_requests == 1

        fake_upstream.behaviour.models_redirect = f"{fake_upstream.url}/v1/models"  # http://127.0.0.1:port
        with pytest.raises(ForbiddenModelHost):
            await llm.list_models(endpoint)
        assert fake_upstream.models_requests == 2, "the redirect was issued, and never followed"
        await llm.aclose()


class TestRegistrationApi:
    async def test_a_name_that_resolves_to_a_private_address_is_422(
        self, client: httpx.AsyncClient, user: UserHandle, resolver: Resolver
    ) -> None:
        resolver.table["llm.corp.example"] = ["10.0.0.5"]
        body = {"name": "x", "provider": "openai_compatible", "model": "m", "base_url": "http://llm.corp.example/v1"}
        response = await client.post("/models", json=body, headers=user.headers)
        assert response.status_code == 422
        assert response.json()["code"] == "forbidden_model_host"
        assert response.headers["content-type"] == "application/problem+json"
        assert "10.0.0.5" not in response.text
        listed = (await client.get("/models", headers=user.headers)).json()["items"]
        assert all(item["owner"] == "system" for item in listed)

    @pytest.mark.parametrize(
        "url",
        [
            "http://2130706433/v1",
            "http://0x7f.1/v1",
            "http://[::ffff:127.0.0.1]/v1",
            "http://169.254.169.254/v1",
            "http://[fd00:ec2::254]/v1",
            "http://metadata.google.internal/v1",
        ],
    )
    async def test_internal_literals_are_422(
        self, client: httpx.AsyncClient, user: UserHandle, resolver: Resolver, url: str
    ) -> None:
        body = {"name": "x", "provider": "vllm", "model": "m", "base_url": url}
        response = await client.post("/models", json=body, headers=user.headers)
        assert response.status_code == 422
        assert response.json()["code"] == "forbidden_model_host"

    async def test_moving_a_model_inside_is_422(
        self, client: httpx.AsyncClient, user: UserHandle, resolver: Resolver
    ) -> None:
        resolver.table["models.example.com"] = [PUBLIC_IP]
        body = {"name": "x", "provider": "vllm", "model": "m", "base_url": "http://models.example.com/v1"}
        created = await client.post("/models", json=body, headers=user.headers)
        assert created.status_code == 201
        moved = await client.patch(
            f"/models/{created.json()['id']}", json={"base_url": "http://192.168.0.2/v1"}, headers=user.headers
        )
        assert moved.status_code == 422 and moved.json()["code"] == "forbidden_model_host"
        kept = await client.get(f"/models/{created.json()['id']}", headers=user.headers)
        assert kept.json()["base_url"] == "http://models.example.com/v1"

    async def test_an_unresolvable_host_is_forbidden(
        self, client: httpx.AsyncClient, user: UserHandle, resolver: Resolver
    ) -> None:
        body = {"name": "x", "provider": "vllm", "model": "m", "base_url": "http://typo.example/v1"}
        response = await client.post("/models", json=body, headers=user.headers)
        assert response.status_code == 422
        assert response.json()["code"] == "forbidden_model_host"

    async def test_unresolvable_and_internal_hosts_answer_identically(
        self, client: httpx.AsyncClient, user: UserHandle, resolver: Resolver
    ) -> None:
        body = {"name": "x", "provider": "vllm", "model": "m", "base_url": "http://grafana.corp.example/v1"}
        unresolved = await client.post("/models", json=body, headers=user.headers)
        resolver.table["grafana.corp.example"] = ["10.20.30.40"]
        internal = await client.post("/models", json=body, headers=user.headers)
        assert unresolved.status_code == internal.status_code == 422
        assert unresolved.headers["content-type"] == internal.headers["content-type"]
        assert unresolved.content == internal.content


class TestRequestTimeApi:
    async def test_rebinding_after_registration_is_refused_at_check_time(
        self, app: FastAPI, client: httpx.AsyncClient, user: UserHandle, resolver: Resolver, fake_upstream: FakeUpstream
    ) -> None:
        app.state.llm = ChatClient(app.state.settings, transport_factory=nat_factory)
        resolver.table["models.example.com"] = [PUBLIC_IP]
        port = fake_upstream.url.rsplit(":", 1)[1]
        body = {
            "name": "x",
            "provider": "vllm",
            "model": "fake-coder",
            "base_url": f"http://models.example.com:{port}/v1",
        }
        created = (await client.post("/models", json=body, headers=user.headers)).json()
        check_url = f"/models/{created['id']}/check"
        assert (await client.post(check_url, headers=user.headers)).json()["status"] == "ok"

        resolver.table["models.example.com"] = ["127.0.0.1"]
        result = (await client.post(check_url, headers=user.headers)).json()
        assert result["status"] == "unreachable"
        assert "not allowed" in result["detail"]
        assert fake_upstream.models_requests == 2, "no connection after the name moved inside (1: the save's check)"

    async def test_a_redirect_to_loopback_is_refused_at_check_time(
        self, app: FastAPI, client: httpx.AsyncClient, user: UserHandle, resolver: Resolver, fake_upstream: FakeUpstream
    ) -> None:
        app.state.llm = ChatClient(app.state.settings, transport_factory=nat_factory)
        resolver.table["models.example.com"] = [PUBLIC_IP]
        port = fake_upstream.url.rsplit(":", 1)[1]
        body = {
            "name": "x",
            "provider": "vllm",
            "model": "fake-coder",
            "base_url": f"http://models.example.com:{port}/v1",
        }
        created = (await client.post("/models", json=body, headers=user.headers)).json()
        fake_upstream.behaviour.models_redirect = f"{fake_upstream.url}/v1/models"
        result = (await client.post(f"/models/{created['id']}/check", headers=user.headers)).json()
        assert result["status"] == "unreachable" and "not allowed" in result["detail"]
        assert fake_upstream.models_requests == 2, "the save's check, then the redirect that was never followed"


class TestAllowPrivateHosts:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {"allow_private_model_hosts": True}

    async def test_the_fake_upstream_on_loopback_works(
        self, client: httpx.AsyncClient, user: UserHandle, fake_upstream: FakeUpstream
    ) -> None:
        body = {"name": "local", "provider": "vllm", "model": "fake-coder", "base_url": fake_upstream.base_url}
        created = await client.post("/models", json=body, headers=user.headers)
        assert created.status_code == 201
        check = await client.post(f"/models/{created.json()['id']}/check", headers=user.headers)
        assert check.json()["status"] == "ok"
