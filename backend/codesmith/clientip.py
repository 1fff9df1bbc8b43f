"""Who is on the other end: the client's address for rate limits, believing X-Forwarded-For only from our proxies."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Sequence
from functools import lru_cache

from starlette.requests import Request

logger = logging.getLogger("codesmith.clientip")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

UNKNOWN = "unknown"


def client_address(request: Request, trusted_proxies: Sequence[str]) -> str:
    """The socket's peer; behind a trusted proxy, the right-most X-Forwarded-For hop that is not one of ours.

    Each proxy appends the address it received the request from, so hops to the right of the first untrusted
    one were written by our proxies; anything to its left was written by the client and can be forged.
    """
    peer = request.client.host if request.client else None
    networks = _networks(tuple(trusted_proxies))
    peer_address = _parse(peer) if peer else None
    if peer_address is None:
        return peer or UNKNOWN
    if not _trusted(peer_address, networks):
        return str(peer_address)
    hops = [hop.strip() for value in request.headers.getlist("x-forwarded-for") for hop in value.split(",")]
    hops = [hop for hop in hops if hop]
    for hop in reversed(hops):
        address = _parse(hop)
        if address is None:
            # Not what one of our proxies writes: attribute the request to the proxy rather than believe it.
            return str(peer_address)
        if not _trusted(address, networks):
            return str(address)
    # Every hop is ours (or there are none): the furthest one we know of.
    first = _parse(hops[0]) if hops else None
    return str(first or peer_address)


def _trusted(address: IPAddress, networks: tuple[IPNetwork, ...]) -> bool:
    return any(address.version == network.version and address in network for network in networks)


def _parse(value: str) -> IPAddress | None:
    """An address as proxies write it: bare, `v4:port`, or `[v6]:port`."""
    candidate = value.strip()
    if candidate.startswith("["):
        candidate = candidate[1:].split("]", 1)[0]
    elif candidate.count(":") == 1:
        candidate = candidate.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(candidate)
    except ValueError:
        return None
    # An IPv4 client reaching an IPv6 socket shows up as ::ffff:a.b.c.d: one client, one key.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    networks: list[IPNetwork] = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            # Trusting less than configured is the safe way to be wrong; say so once.
            logger.warning("ignoring a trusted proxy that is not an address or network", extra={"entry": entry})
    return tuple(networks)
