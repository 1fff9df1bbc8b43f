"""A throwaway PostgreSQL cluster on a loopback port (Debian's `postgresql` package), for tests and benchmarks.

As root, the server runs as the `postgres` system user (initdb refuses root). Settings are the defaults but
for durability (fsync off): neither the tests nor the benchmark need their data to survive a crash.
Standard library only, so the test-services script runs before (or without) the project's venv.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

START_TIMEOUT_S = 60
PG_ROOT = Path("/usr/lib/postgresql")


class ClusterError(RuntimeError):
    """The cluster cannot be created, started or reached."""


@dataclass(frozen=True)
class Cluster:
    port: int
    socket_dir: Path
    bin_dir: Path

    @property
    def admin_url(self) -> str:
        """The superuser's URL in SQLAlchemy's asyncpg form (trust authentication: no password)."""
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def psql(self, sql: str) -> None:
        """Run one statement as the superuser (over the cluster's Unix socket)."""
        command = [str(self.bin_dir / "psql"), "-h", str(self.socket_dir), "-p", str(self.port), "-U", "postgres"]
        run([*command, "-v", "ON_ERROR_STOP=1", "-c", sql], "psql")


def bin_dir() -> Path:
    """The newest installed server's bin folder (PG_BIN overrides it)."""
    if override := os.environ.get("PG_BIN"):
        if not (Path(override) / "initdb").exists():
            raise ClusterError(f"PG_BIN={override} holds no initdb")
        return Path(override)
    versions = sorted(
        PG_ROOT.glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0
    )
    if not versions:
        found = shutil.which("initdb")
        if found:
            return Path(found).parent
        raise ClusterError("PostgreSQL is not installed (Debian: apt-get install -y postgresql)")
    return versions[-1].parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_owner(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    if shutil.which("runuser") is None:
        raise ClusterError("running as root needs `runuser` to start PostgreSQL as the postgres user")
    return ["runuser", "-u", "postgres", "--", *command]


def run(command: list[str], what: str) -> None:
    result = subprocess.run(_as_owner(command), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ClusterError(f"{what} failed: {(result.stderr or result.stdout)[-1500:]}")


@contextlib.contextmanager
def running(data: Path, *, extra_options: str = "", stop_mode: str = "fast") -> Iterator[tuple[Cluster, bool]]:
    """A running cluster on `data` (initialized there unless it holds one already, superuser `postgres`,
    trust authentication, loopback only): yields it and whether it is new. Stopped on the way out; `data`
    stays, so a loaded database can be used again."""
    binaries = bin_dir()
    with tempfile.TemporaryDirectory(prefix="codesmith-pg-sock-") as sockets_name:
        sockets = Path(sockets_name)
        created = not (data / "PG_VERSION").exists()
        if created:
            shutil.rmtree(data, ignore_errors=True)
            data.mkdir(parents=True, mode=0o700)
        if os.geteuid() == 0:
            for path in (sockets, data):
                shutil.chown(path, "postgres")
        if created:
            run([str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"], "initdb")
        port = free_port()
        options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        if extra_options:
            options = f"{options} {extra_options}"
        log = sockets / "postgres.log"
        try:
            run([str(binaries / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(log), "-w", "start"], "pg_ctl")
        except ClusterError as exc:
            tail = log.read_text(errors="replace")[-1500:] if log.exists() else ""
            raise ClusterError(f"{exc}\n{tail}") from None
        try:
            _wait_ready(binaries, sockets, port)
            yield Cluster(port=port, socket_dir=sockets, bin_dir=binaries), created
        finally:
            with contextlib.suppress(ClusterError):
                run([str(binaries / "pg_ctl"), "-D", str(data), "-m", stop_mode, "-w", "stop"], "pg_ctl stop")


@contextlib.contextmanager
def throwaway(*, extra_options: str = "") -> Iterator[Cluster]:
    """A fresh cluster in a temporary folder, removed with everything in it on the way out."""
    with tempfile.TemporaryDirectory(prefix="codesmith-pg-") as folder:
        if os.geteuid() == 0:
            shutil.chown(folder, "postgres")
        # Nothing in it is kept: stop without a shutdown checkpoint.
        with running(Path(folder) / "data", extra_options=extra_options, stop_mode="immediate") as (cluster, _):
            yield cluster


def _wait_ready(binaries: Path, socket_dir: Path, port: int) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        ready = subprocess.run(
            [str(binaries / "pg_isready"), "-h", str(socket_dir), "-p", str(port)], capture_output=True, check=False
        )
        if ready.returncode == 0:
            return
        time.sleep(0.2)
    raise ClusterError("PostgreSQL did not become ready")
