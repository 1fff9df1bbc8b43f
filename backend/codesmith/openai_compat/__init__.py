"""The OpenAI-compatible API at the server's root (`/v1/models`, `/v1/chat/completions`): OpenAI's shapes
in and out, Codesmith's generation pipeline in between (guard, limits, budget, context, ledger, history)."""

PREFIX = "/v1"


def handles(path: str) -> bool:
    """Whether a request path belongs to the OpenAI-compatible API (its errors take OpenAI's envelope)."""
    return path == PREFIX or path.startswith(PREFIX + "/")
