"""Exporting a user's data: GET /users/me/export from `codesmith serve` (SQLite), for 10,000 and 100,000
messages; the server's peak RSS above its resting RSS should not grow with the data (constant memory).

Rows go straight into a migrated database (sqlite3 executemany in one transaction; the search triggers fill
their tables as the app's inserts would). The client streams the body and throws it away, counting bytes;
the document is then parsed once to check that every message is in it.
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench import procs, procstat
from bench.scale import _env, _migrate, _sqlite_stamp

PASSWORD = "export-password-1"
EMAIL = "exporter@example.com"
MESSAGES_PER_CONVERSATION = 10  # a request, then answers and feedback taking turns
SIZES = (10_000, 100_000)
QUICK_SIZES = (2_000, 20_000)
ANSWER = (
    "Here is a version that handles the edge cases:\n\n```python\n"
    "def merge_intervals(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:\n"
    '    """Merge overlapping intervals, sorted by start."""\n'
    "    merged: list[tuple[int, int]] = []\n"
    "    for start, end in sorted(intervals):\n"
    "        if merged and start <= merged[-1][1]:\n"
    "            merged[-1] = (merged[-1][0], max(merged[-1][1], end))\n"
    "        else:\n"
    "            merged.append((start, end))\n"
    "    return merged\n"
    "```\n\nIt sorts once, so it runs in O(n log n)."
)
SNIPPET = ANSWER.split("```python\n", 1)[1].split("```", 1)[0]


def _rows(user_id: str, messages: int) -> Iterator[tuple[str, list[tuple[Any, ...]]]]:
    """The user's conversations, messages and snippets, in batches of one table each."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for number in range(messages // MESSAGES_PER_CONVERSATION):
        cid = str(uuid.uuid4())
        at = start + timedelta(minutes=number)
        stamp = _sqlite_stamp(at)
        yield "conversations", [(cid, user_id, f"Merge intervals, take {number}", None, None, SNIPPET, stamp, stamp)]
        message_rows, snippet_rows = [], []
        parent: str | None = None
        for turn in range(MESSAGES_PER_CONVERSATION):
            mid = str(uuid.uuid4())
            when = _sqlite_stamp(at + timedelta(seconds=turn))
            if turn % 2 == 0:
                kind, text = ("request" if turn == 0 else "feedback"), f"Merge overlapping intervals, step {turn}"
                message_rows.append((mid, cid, user_id, parent, "user", kind, text, "complete", when, when, 0))
            else:
                answer = (mid, cid, user_id, parent, "assistant", "generation", ANSWER, "complete", when, when, 0)
                message_rows.append(answer)
                snippet_rows.append(
                    (str(uuid.uuid4()), user_id, cid, mid, 0, "python", SNIPPET, "merge_intervals", when)
                )
            parent = mid
        yield "messages", message_rows
        yield "snippets", snippet_rows


COLUMNS = {
    "conversations": "id, user_id, title, model_id, language, preview, created_at, updated_at",
    "messages": "id, conversation_id, user_id, parent_id, role, kind, content, status, created_at, completed_at, "
    "usage_estimated",
    "snippets": "id, user_id, conversation_id, message_id, position, language, code, title, created_at",
}


def seed(path: Path, messages: int, password_hash: str) -> float:
    started = time.monotonic()
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("BEGIN")
        user_id = str(uuid.uuid4())
        now = _sqlite_stamp(datetime.now(UTC))
        connection.execute(
            "INSERT INTO users (id, email, password_hash, is_admin, token_version, created_at, updated_at) "
            "VALUES (?, ?, ?, 1, 0, ?, ?)",
            (user_id, EMAIL, password_hash, now, now),
        )
        for table, rows in _rows(user_id, messages):
            marks = ", ".join("?" * len(COLUMNS[table].split(", ")))
            connection.executemany(f"INSERT INTO {table} ({COLUMNS[table]}) VALUES ({marks})", rows)
        connection.execute("COMMIT")
    finally:
        connection.close()
    return time.monotonic() - started


def _export_once(api: str, token: str, keep: Path | None) -> tuple[int, float]:
    """Stream the export; its size in bytes and the seconds it took (the body goes to `keep` or nowhere)."""
    started = time.monotonic()
    size = 0
    with httpx.stream("GET", f"{api}/users/me/export", headers={"Authorization": f"Bearer {token}"}, timeout=600) as r:
        r.raise_for_status()
        sink = keep.open("wb") if keep else None
        try:
            for chunk in r.iter_bytes():
                size += len(chunk)
                if sink:
                    sink.write(chunk)
        finally:
            if sink:
                sink.close()
    return size, time.monotonic() - started


def measure(messages: int) -> dict[str, Any]:
    from codesmith.security import hash_password

    with procs.scratch_dir("codesmith-bench-export-") as workdir, procs.servers() as running:
        path = workdir / "export.db"
        url = f"sqlite+aiosqlite:///{path}"
        _migrate(url, workdir)
        procs.say(f"export: seeding {messages:,} messages ...")
        seeded = seed(path, messages, hash_password(PASSWORD))
        port = procs.free_port()
        codesmith = str(procs.PROJECT_VENV / "bin" / "codesmith")
        server = procs.Server(
            "codesmith-export", [codesmith, "serve", "--host", "127.0.0.1", "--port", str(port)],
            _env(url, workdir), workdir, cwd=workdir,
        )  # fmt: skip
        running.append(server)
        root = f"http://127.0.0.1:{port}"
        server.wait_http(f"{root}/readyz", timeout=60)
        api = f"{root}/api/v1"
        token = httpx.post(f"{api}/auth/token", data={"username": EMAIL, "password": PASSWORD}).json()["access_token"]
        _export_once(api, token, None)  # warm-up: first-use allocations are not the export's
        time.sleep(0.5)
        resting = procstat.rss_mb(server.pid)
        procstat.reset_peak_rss(server.pid)
        with tempfile.NamedTemporaryFile(suffix=".json", dir=workdir) as kept:
            size, seconds = _export_once(api, token, Path(kept.name))
            peak = procstat.peak_rss_mb(server.pid)
            document = json.loads(Path(kept.name).read_bytes())
        exported = sum(len(c["messages"]) for c in document["conversations"])
        if exported != messages:
            raise procs.BenchError(f"the export holds {exported} messages, not {messages}")
        return {
            "messages": messages,
            "conversations": len(document["conversations"]),
            "seed_seconds": round(seeded, 1),
            "bytes": size,
            "seconds": round(seconds, 2),
            "mib_per_second": round(size / 2**20 / seconds, 1),
            "resting_rss_mib": round(resting, 1),
            "peak_rss_mib": round(peak, 1),
            "growth_mib": round(peak - resting, 1),
        }


def run(*, quick: bool) -> dict[str, Any]:
    runs = [measure(messages) for messages in (QUICK_SIZES if quick else SIZES)]
    return {"runs": runs, "messages_per_conversation": MESSAGES_PER_CONVERSATION}


def render(result: dict[str, Any]) -> str:
    lines = [
        "| messages | conversations | export size | time | throughput | resting RSS | peak RSS | growth |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in result["runs"]:
        lines.append(
            f"| {r['messages']:,} | {r['conversations']:,} | {r['bytes'] / 2**20:.1f} MiB | {r['seconds']:.1f} s | "
            f"{r['mib_per_second']} MiB/s | {r['resting_rss_mib']} MiB | {r['peak_rss_mib']} MiB | "
            f"{r['growth_mib']} MiB |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    import sys

    print(render(run(quick="--quick" in sys.argv)))
