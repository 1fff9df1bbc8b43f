"""One TLS context for every upstream client.

Building a verifying context loads the CA bundle: 30 to 200 ms of the event loop (measured here), paid by
every new SDK client — the first request of each user key, each registered server — while every other
stream waits. An SSLContext is made to be shared by many connections.
"""

from __future__ import annotations

import functools
import ssl

import httpx2 as httpx


@functools.cache
def ssl_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()
