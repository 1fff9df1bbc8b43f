# syntax=docker/dockerfile:1
# Stage 1: the SPA.
FROM node:20-bookworm-slim AS web
WORKDIR /app/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
RUN npm run build

# Stage 2: the backend's locked dependencies in a virtual environment.
FROM python:3.11-slim-bookworm AS build
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PROJECT_ENVIRONMENT=/app/.venv
RUN pip install --no-cache-dir uv==0.13.8
WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY backend/ backend/
RUN uv sync --frozen --no-dev --no-editable

# Stage 3: the runtime, as an unprivileged user.
FROM python:3.11-slim-bookworm
RUN useradd --create-home --uid 10001 codesmith \
 && mkdir -p /data && chown codesmith:codesmith /data
WORKDIR /app
COPY --from=build /app/.venv /app/.venv
COPY alembic.ini ./
COPY alembic/ alembic/
COPY --from=web /app/frontend/dist /app/frontend/dist
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    CODESMITH_DATA_DIR=/data \
    CODESMITH_DATABASE_URL=sqlite+aiosqlite:////data/codesmith.db \
    CODESMITH_SPA_DIR=/app/frontend/dist \
    CODESMITH_ALEMBIC_DIR=/app
USER codesmith
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz')"
CMD ["sh", "-c", "codesmith migrate && exec codesmith serve --host 0.0.0.0 --port 8000"]
