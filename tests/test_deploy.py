"""The container files stay valid: docker-compose accepts the compose file, with and without profiles."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = shutil.which("docker-compose")


@pytest.mark.skipif(COMPOSE is None, reason="docker-compose is not installed (.ci/run installs it)")
@pytest.mark.parametrize("profile", [None, "gpu", "postgres"])
def test_compose_file_is_accepted(profile: str | None) -> None:
    assert COMPOSE is not None
    args = [COMPOSE, "-f", str(ROOT / "docker-compose.yml")]
    if profile:
        args += ["--profile", profile]
    env = {**os.environ, "CODESMITH_SECRET_KEY": "x" * 48}
    result = subprocess.run([*args, "config", "-q"], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_compose_refuses_to_start_without_a_secret() -> None:
    if COMPOSE is None:
        pytest.skip("docker-compose is not installed")
    env = {k: v for k, v in os.environ.items() if k != "CODESMITH_SECRET_KEY"}
    result = subprocess.run(
        [COMPOSE, "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "CODESMITH_SECRET_KEY" in result.stderr


def test_image_runs_migrations_then_the_server_as_non_root() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "USER codesmith" in dockerfile
    assert "codesmith migrate && exec codesmith serve" in dockerfile
