"""The API console at /docs: Swagger UI served from the app itself (the swagger-ui-bundle package), so it
works offline and under the page's Content-Security-Policy (no CDN, no inline script)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

STATIC = Path(__file__).parent / "static"
ASSETS = "/docs/assets"

_PAGE = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Codesmith API console</title>
<link rel="icon" type="image/png" href="{ASSETS}/favicon-32x32.png">
<link rel="stylesheet" href="{ASSETS}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{ASSETS}/swagger-ui-bundle.js"></script>
<script src="/docs/static/console.js"></script>
</body>
</html>
"""


def mount_console(app: FastAPI) -> None:
    """GET /docs, its script and Swagger UI's files (create the app with docs_url=None)."""
    app.mount(ASSETS, StaticFiles(directory=swagger_ui_path), name="console-assets")
    app.mount("/docs/static", StaticFiles(directory=STATIC), name="console-static")

    @app.get("/docs", include_in_schema=False)
    async def console() -> HTMLResponse:
        return HTMLResponse(_PAGE)
