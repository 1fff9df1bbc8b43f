"""client_address(): the socket's peer, or X-Forwarded-For's right-most untrusted hop behind a trusted proxy."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from codesmith.clientip import client_address

TRUSTED = ["10.0.0.0/8", "192.168.1.1", "2001:db8:1::/48"]


def request_from(peer: str | None, *forwarded: str) -> Request:
    headers = [(b"x-forwarded-for", value.encode()) for value in forwarded]
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "headers": headers,
        "client": (peer, 1234) if peer is not None else None,
    }
    return Request(scope)


class TestUntrustedPeer:
    def test_the_socket_address_without_proxies(self) -> None:
        assert client_address(request_from("203.0.113.9", "198.51.100.1"), []) == "203.0.113.9"

    def test_forwarded_for_is_ignored_from_a_peer_outside_the_list(self) -> None:
        assert client_address(request_from("203.0.113.9", "198.51.100.1"), TRUSTED) == "203.0.113.9"

    def test_no_client_at_all(self) -> None:
        assert client_address(request_from(None), TRUSTED) == "unknown"


class TestTrustedProxy:
    @pytest.mark.parametrize(
        ("peer", "forwarded", "expected"),
        [
            ("10.1.2.3", ["198.51.100.7"], "198.51.100.7"),
            ("192.168.1.1", ["198.51.100.7"], "198.51.100.7"),
            # What a client wrote itself sits to the left of what the proxies appended.
            ("10.1.2.3", ["1.2.3.4, 198.51.100.7"], "198.51.100.7"),
            ("10.1.2.3", ["1.2.3.4, 198.51.100.7, 192.168.1.1, 10.9.9.9"], "198.51.100.7"),
            # Several headers read as one list, in order.
            ("10.1.2.3", ["1.2.3.4", "198.51.100.7"], "198.51.100.7"),
            ("2001:db8:1::5", ["2001:db8:2::7"], "2001:db8:2::7"),
            # A hop with a port, as some proxies write it.
            ("10.1.2.3", ["198.51.100.7:5555"], "198.51.100.7"),
            ("10.1.2.3", ["[2001:db8:2::7]:443"], "2001:db8:2::7"),
        ],
    )
    def test_the_right_most_untrusted_hop(self, peer: str, forwarded: list[str], expected: str) -> None:
        assert client_address(request_from(peer, *forwarded), TRUSTED) == expected

    def test_the_peer_when_the_header_is_missing(self) -> None:
        assert client_address(request_from("10.1.2.3"), TRUSTED) == "10.1.2.3"

    def test_the_left_most_hop_when_every_hop_is_trusted(self) -> None:
        assert client_address(request_from("10.1.2.3", "10.4.4.4, 192.168.1.1"), TRUSTED) == "10.4.4.4"

    def test_the_peer_when_the_deciding_hop_is_not_an_address(self) -> None:
        assert client_address(request_from("10.1.2.3", "198.51.100.7, not-an-ip"), TRUSTED) == "10.1.2.3"
