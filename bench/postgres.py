"""The benchmark's PostgreSQL: a cluster on a loopback port (scripts/postgres_cluster.py, shared with the
tests' services) holding an empty database owned by a login role.

The data folder is the caller's (bench.scale keeps a loaded one in bench/.cache/).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from scripts import postgres_cluster

from bench import procs

ROLE = "bench"
DATABASE = "codesmith"


@contextlib.contextmanager
def cluster(data: Path) -> Iterator[tuple[str, bool]]:
    """A running cluster on `data` (created there, with an empty database owned by a login role, unless
    it exists already): yields its asyncpg URL and whether the cluster is new. Stopped on the way out;
    `data` stays, so a loaded database can be used again."""
    try:
        with postgres_cluster.running(data) as (server, created):
            if created:
                server.psql(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{ROLE}'")
                server.psql(f"CREATE DATABASE {DATABASE} OWNER {ROLE}")
            yield f"postgresql+asyncpg://{ROLE}:{ROLE}@127.0.0.1:{server.port}/{DATABASE}", created
    except postgres_cluster.ClusterError as exc:
        raise procs.BenchError(str(exc)) from None
