"""The bench's CPU figures count what a server's short-lived children spend (a ruff check is one)."""

from __future__ import annotations

import os
import subprocess
import sys

from bench import procstat

BURN = "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass\n"


def test_a_child_that_has_exited_is_counted_in_its_parents_cpu() -> None:
    before = procstat.cpu_seconds(os.getpid())
    subprocess.run([sys.executable, "-c", BURN], check=True)  # waited for: gone before the second reading
    assert procstat.cpu_seconds(os.getpid()) - before >= 0.25
