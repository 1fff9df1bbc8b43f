"""Several workers need Redis: without CODESMITH_REDIS_URL, `codesmith serve --workers 2` refuses to start."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from pathlib import Path

import pytest

from tests.conftest import TEST_SECRET, free_port
from tests.replicas.harness import base_environment, codesmith_command, tail

pytestmark = pytest.mark.replicas


class TestWorkersNeedRedis:
    async def test_serve_with_two_workers_and_no_redis_exits_naming_the_setting(
        self, tmp_path: Path, database_url: str
    ) -> None:
        # A ready database: the missing Redis is the only problem.
        env = {
            **base_environment(),  # no CODESMITH_ setting at all, so no CODESMITH_REDIS_URL either
            "CODESMITH_DATABASE_URL": database_url,
            "CODESMITH_DATA_DIR": str(tmp_path / "data"),
            "CODESMITH_SECRET_KEY": TEST_SECRET,
            "CODESMITH_OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
        }
        log = tmp_path / "serve.log"
        port = free_port()
        with log.open("wb") as out:
            process = subprocess.Popen(
                [*codesmith_command(), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
                cwd=tmp_path,  # no .env of the repository is read
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 20  # the command's imports alone take seconds on a small machine
            while process.poll() is None and loop.time() < deadline:
                await asyncio.sleep(0.1)
            code = process.poll()
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)
        output = tail(log)
        assert code is not None, f"still serving after 20 s with two workers and no Redis:\n{output}"
        assert code != 0, output
        assert "CODESMITH_REDIS_URL" in output, output
