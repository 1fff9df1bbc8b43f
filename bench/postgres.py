"""A benchmark PostgreSQL cluster on a loopback port (Debian's `postgresql` package).

As root, the server runs as the `postgres` system user (initdb refuses root). Settings are the defaults
but for durability (fsync off): the benchmark times reads, and a bulk load need not survive a crash.
The data folder is the caller's (bench.scale keeps a loaded one in bench/.cache/).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from bench import procs

ROLE = "bench"
DATABASE = "codesmith"
START_TIMEOUT_S = 60


def _bin_dir() -> Path:
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if not versions:
        raise procs.BenchError("PostgreSQL is not installed (Debian: apt-get install -y postgresql)")
    return versions[-1].parent


def _as_owner(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    if shutil.which("runuser") is None:
        raise procs.BenchError("running as root needs `runuser` to start PostgreSQL as the postgres user")
    return ["runuser", "-u", "postgres", "--", *command]


def _run(command: list[str], what: str) -> None:
    result = subprocess.run(_as_owner(command), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise procs.BenchError(f"{what} failed: {(result.stderr or result.stdout)[-1500:]}")


@contextlib.contextmanager
def cluster(data: Path) -> Iterator[tuple[str, bool]]:
    """A running cluster on `data` (created there, with an empty database owned by a login role, unless
    it exists already): yields its asyncpg URL and whether the cluster is new. Stopped on the way out;
    `data` stays, so a loaded database can be used again."""
    bin_dir = _bin_dir()
    with procs.scratch_dir("codesmith-bench-pg-") as sockets:
        created = not (data / "PG_VERSION").exists()
        if created:
            shutil.rmtree(data, ignore_errors=True)
            data.mkdir(parents=True, mode=0o700)
        if os.geteuid() == 0:
            for path in (sockets, data):
                shutil.chown(path, "postgres")
        if created:
            _run([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"], "initdb")
        port = procs.free_port()
        options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        log = sockets / "postgres.log"
        _run([str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(log), "-w", "start"], "pg_ctl start")
        try:
            _wait_ready(bin_dir, sockets, port)
            if created:
                psql = [str(bin_dir / "psql"), "-h", str(sockets), "-p", str(port), "-U", "postgres"]
                _run(
                    [*psql, "-v", "ON_ERROR_STOP=1", "-c", f"CREATE ROLE {ROLE} LOGIN PASSWORD '{ROLE}'"], "create role"
                )
                _run([*psql, "-v", "ON_ERROR_STOP=1", "-c", f"CREATE DATABASE {DATABASE} OWNER {ROLE}"], "create db")
            yield f"postgresql+asyncpg://{ROLE}:{ROLE}@127.0.0.1:{port}/{DATABASE}", created
        finally:
            with contextlib.suppress(procs.BenchError):
                _run([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"], "pg_ctl stop")


def _wait_ready(bin_dir: Path, socket_dir: Path, port: int) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        ready = subprocess.run(
            [str(bin_dir / "pg_isready"), "-h", str(socket_dir), "-p", str(port)], capture_output=True, check=False
        )
        if ready.returncode == 0:
            return
        time.sleep(0.3)
    raise procs.BenchError("PostgreSQL did not become ready")
