"""The server-side-request-forgery guard for user-registered model servers.

Two checks: `check_base_url` when a URL is registered, and `GuardedTransport` at every connection
(it resolves the host itself and connects to the address it checked, so DNS rebinding and redirects
to internal addresses are refused too). A name that does not resolve is refused in the same words as an
internal address: two answers would tell a user which internal names exist.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
import socket
from typing import Any

import httpx2 as httpx

from codesmith.errors import ForbiddenModelHost, ValidationFailed
from codesmith.llm.tls import ssl_context
from codesmith.llm.types import Endpoint

logger = logging.getLogger("codesmith.llm.ssrf")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

ALLOWED_SCHEMES = frozenset({"http", "https"})
DEFAULT_PORTS = {"http": 80, "https": 443}
RESOLVE_TIMEOUT_SECONDS = 10.0

# Cloud instance-metadata services: named explicitly although the ranges below cover them too,
# because they are the prize of an SSRF (credentials) and must never depend on a range table.
METADATA_HOSTS = frozenset(
    {"metadata.google.internal", "metadata.goog", "metadata", "instance-data", "instance-data.ec2.internal"}
)
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200", "192.0.0.192")
)
# Ranges Python's is_global does not catch: multicast, and addresses that embed an IPv4 address.
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

# The forms inet_aton accepts besides dotted quads: 2130706433, 0x7f.1, 017700000001, 127.1.
_IPV4_PART = re.compile(r"^(0[xX][0-9a-fA-F]*|0[0-7]*|[1-9][0-9]*)$")

FORBIDDEN_DETAIL = (
    "The model server's address is not allowed: {host} is not, or does not resolve to, a public address "
    "(loopback, private, link-local, multicast, reserved and cloud-metadata addresses are refused, and so are "
    "names that do not resolve). Ask an administrator to set CODESMITH_ALLOW_PRIVATE_MODEL_HOSTS=true to use "
    "servers on a private network."
)


# -- addresses ---------------------------------------------------------------------------------
def parse_ipv4_legacy(host: str) -> ipaddress.IPv4Address | None:
    """An IPv4 address in any form inet_aton accepts (decimal, octal, hex, 1 to 4 parts), else None."""
    parts = host.split(".")
    if not 1 <= len(parts) <= 4 or not all(_IPV4_PART.match(part) for part in parts):
        return None
    values = [_part_value(part) for part in parts]
    *leading, last = values
    if any(value > 0xFF for value in leading) or last >= 256 ** (5 - len(values)):
        return None
    number = last
    for index, value in enumerate(leading):
        number |= value << (8 * (3 - index))
    return ipaddress.IPv4Address(number)


def _part_value(part: str) -> int:
    if part[:2].lower() == "0x":
        return int(part[2:] or "0", 16)
    if len(part) > 1 and part.startswith("0"):
        return int(part, 8)
    return int(part)


def parse_ip_literal(host: str) -> IPAddress | None:
    """The address a host names literally (IPv4 in every inet_aton form, IPv6 with or without brackets)."""
    bare = host.strip("[]")
    try:
        return ipaddress.ip_address(bare)
    except ValueError:
        return parse_ipv4_legacy(bare)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address inside an IPv4-mapped, 6to4, Teredo or NAT64 IPv6 address."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_forbidden_address(address: IPAddress) -> bool:
    """True for any address a user-registered model server must not have."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            return True
        embedded = _embedded_ipv4(address)
        if embedded is not None and is_forbidden_address(embedded):
            return True
    if address in METADATA_ADDRESSES:
        return True
    if isinstance(address, ipaddress.IPv4Address) and address in _CGNAT:
        return True
    return (
        not address.is_global
        or address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_unspecified
        or address.is_reserved
    )


def is_forbidden_name(host: str) -> bool:
    name = host.rstrip(".").lower()
    return name in METADATA_HOSTS or name == "localhost" or name.endswith(".localhost")


# -- resolution --------------------------------------------------------------------------------
async def resolve_host(host: str, port: int) -> list[str]:
    """Every address the host resolves to (tests replace this: the network is never needed)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def allowed_addresses(host: str, port: int) -> list[IPAddress]:
    """The host's addresses when it has some and none is forbidden; ForbiddenModelHost otherwise.

    Every address must pass, not just one: a name that also resolves to an internal address
    would reach it on some connections. A name that does not resolve (or not in time) gets the same
    ForbiddenModelHost, word for word.
    """
    if is_forbidden_name(host):
        raise _refused(host, "a reserved name")
    literal = parse_ip_literal(host)
    if literal is not None:
        addresses: list[IPAddress] = [literal]
    else:
        try:
            async with asyncio.timeout(RESOLVE_TIMEOUT_SECONDS):
                resolved = await resolve_host(host, port)
        except OSError:  # socket.gaierror, and TimeoutError (an OSError too)
            raise _refused(host, "does not resolve") from None
        addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in resolved]
        if not addresses:
            raise _refused(host, "has no address")
    if any(is_forbidden_address(address) for address in addresses):
        raise _refused(host, "an internal address")
    return addresses


def _refused(host: str, reason: str) -> ForbiddenModelHost:
    # The reason is for the operator's log only: the caller sees one detail whatever it was.
    logger.info("refused a model server host", extra={"host": host, "reason": reason})
    return ForbiddenModelHost(FORBIDDEN_DETAIL.format(host=host))


# -- the check at registration -----------------------------------------------------------------
def parse_base_url(url: str) -> httpx.URL:
    """The URL as the HTTP client will read it; 422 validation_error unless it is http(s) with a host."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise ValidationFailed(f"base_url is not a valid URL: {exc}", loc=["body", "base_url"]) from None
    if parsed.scheme not in ALLOWED_SCHEMES or not parsed.host:
        raise ValidationFailed(
            "base_url must be an http:// or https:// URL with a host, such as http://vllm:8000/v1.",
            loc=["body", "base_url"],
        )
    return parsed


async def check_base_url(url: str, *, allow_private: bool) -> None:
    """Refuse a base_url whose host is an internal address, resolves to one, or does not resolve: 422
    forbidden_model_host, the same answer for all three."""
    parsed = parse_base_url(url)
    if allow_private:
        return
    await allowed_addresses(parsed.host, parsed.port or DEFAULT_PORTS[parsed.scheme])


# -- the check at every connection -------------------------------------------------------------
class GuardedTransport(httpx.AsyncBaseTransport):
    """Resolves each request's host itself, refuses internal addresses, and connects to the checked IP.

    Connecting to the checked IP (the Host header and TLS server name keep the original name) closes
    the gap between check and connect that DNS rebinding uses. The client follows redirects by sending
    a new request through this same transport, so every hop is checked.
    """

    def __init__(self, inner: httpx.AsyncBaseTransport | None = None) -> None:
        self._inner = inner or httpx.AsyncHTTPTransport(
            verify=ssl_context(), limits=httpx.Limits(max_connections=1000, max_keepalive_connections=100)
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme not in ALLOWED_SCHEMES:
            raise ForbiddenModelHost(f"Only http and https model servers are allowed, not {url.scheme}.")
        port = url.port or DEFAULT_PORTS[url.scheme]
        try:
            addresses = await allowed_addresses(url.host, port)
        except ForbiddenModelHost:
            logger.warning("refused a model server address", extra={"host": url.host})
            raise
        pinned = httpx.Request(
            request.method,
            url.copy_with(host=str(addresses[0])),
            headers=request.headers,  # keeps Host: the original name
            stream=request.stream,
            extensions=self._extensions(request, url),
        )
        return await self._inner.handle_async_request(pinned)

    @staticmethod
    def _extensions(request: httpx.Request, url: httpx.URL) -> dict[str, Any]:
        extensions = dict(request.extensions)
        if url.scheme == "https" and parse_ip_literal(url.host) is None:
            extensions["sni_hostname"] = url.host  # TLS checks the certificate against the name
        return extensions

    async def aclose(self) -> None:
        await self._inner.aclose()


def guarded_transport_factory(endpoint: Endpoint) -> httpx.AsyncBaseTransport | None:
    """ChatClient's transport_factory: the guard for user-registered servers, the default for the rest."""
    return GuardedTransport() if endpoint.guarded else None
