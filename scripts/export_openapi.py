"""Write the backend's OpenAPI schema to frontend/openapi.json (sorted keys, stable) for the SPA's client.

Usage: .venv/bin/python scripts/export_openapi.py [--check]
With --check, exit 1 when the committed file differs from what the backend describes now.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "frontend" / "openapi.json"


def render_schema() -> str:
    from codesmith.config import Settings
    from codesmith.main import create_app

    # A throwaway secret and database: building the schema touches neither, but Settings validates them.
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            secret_key="openapi-export-" + "x" * 32,
            database_url=f"sqlite+aiosqlite:///{tmp}/export.db",
            data_dir=Path(tmp),
            vllm_base_url=None,
            openai_api_key=None,
            redis_url=None,
            cors_origins=[],
            _env_file=None,  # a developer's .env must not change the schema
        )
        schema = create_app(settings).openapi()
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    rendered = render_schema()
    if "--check" in argv:
        current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
        if current != rendered:
            print(f"{TARGET.relative_to(ROOT)} is out of date: run scripts/export_openapi.py", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(rendered, encoding="utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)} ({len(rendered)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
