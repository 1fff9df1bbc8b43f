"""Conversations made through the API (with regenerations, feedback and edits), and shape comparisons."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import UserHandle

PROMPT = "Write a Python function that reverses the words of a sentence"


async def rich_conversation(client: httpx.AsyncClient, user: UserHandle) -> dict[str, Any]:
    """A request, its answer regenerated (two versions), feedback on the second with its answer, and an
    edited request with its own answer: the detail view afterwards."""
    created = await client.post("/conversations", json={"prompt": PROMPT}, headers=user.headers)
    assert created.status_code == 201, created.text
    conversation = created.json()
    cid = conversation["id"]
    request, answer = conversation["messages"][0], conversation["messages"][1]
    regenerated = await client.post(
        f"/conversations/{cid}/messages/{answer['id']}/regenerate", json={}, headers=user.headers
    )
    assert regenerated.status_code == 201, regenerated.text
    second = regenerated.json()["messages"][-1]
    feedback = await client.post(
        f"/conversations/{cid}/messages",
        json={"content": "Add a docstring and handle tabs", "parent_id": second["id"]},
        headers=user.headers,
    )
    assert feedback.status_code == 201, feedback.text
    edited = await client.post(
        f"/conversations/{cid}/messages",
        json={"content": "Write a Python function that reverses each word", "edit_of": request["id"]},
        headers=user.headers,
    )
    assert edited.status_code == 201, edited.text
    detail = await client.get(f"/conversations/{cid}", headers=user.headers)
    return dict(detail.json())


def tree_shape(messages: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """The tree without ids: each message as (path of (role, kind, content) from the root), sorted."""
    by_id = {m["id"]: m for m in messages}

    def path(message: dict[str, Any]) -> tuple[Any, ...]:
        steps: list[tuple[Any, ...]] = []
        current: dict[str, Any] | None = message
        while current is not None:
            snippets = tuple((s["language"], s["title"], s["code"]) for s in current.get("snippets", []))
            steps.append((current["role"], current["kind"], current["content"], current["status"], snippets))
            current = by_id.get(current["parent_id"]) if current["parent_id"] else None
        return tuple(reversed(steps))

    return sorted(path(m) for m in messages)
