"""Importing ChatGPT's conversations.json: the mapping tree becomes the message tree, code blocks snippets."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from tests.conftest import UserHandle
from tests.yourdata.test_import import import_document, rows_of

START = 1_735_725_600.0  # 2025-01-01T10:00:00Z


def node(ident: str, parent: str | None, children: list[str], message: dict[str, Any] | None) -> dict[str, Any]:
    return {"id": ident, "message": message, "parent": parent, "children": children}


def said(
    ident: str, role: str, text: str, seconds: float, *, content_type: str = "text", **extra: Any
) -> dict[str, Any]:
    """A message as ChatGPT writes it (with the fields the importer ignores)."""
    return {
        "id": ident,
        "author": {"role": role, "name": None, "metadata": {}},
        "create_time": START + seconds,
        "update_time": None,
        "content": {"content_type": content_type, "parts": [text]},
        "status": "finished_successfully",
        "end_turn": True,
        "weight": 1.0,
        "metadata": {"model_slug": "gpt-4o"},
        "recipient": "all",
        "channel": None,
    } | extra


ANSWER = (
    "Here it is:\n\n```python\ndef reverse_words(sentence: str) -> str:\n"
    '    return " ".join(reversed(sentence.split()))\n```\n\nIt splits on white space.'
)
TABS_ANSWER = "With tabs:\n\n```python\ndef reverse_words_tabs(sentence: str) -> str:\n    return sentence\n```"
EACH_ANSWER = (
    "```javascript\nfunction reverseEach(s) {\n"
    "  return s.split(' ').map(w => [...w].reverse().join('')).join(' ');\n}\n```"
)


def chatgpt_export() -> list[dict[str, Any]]:
    system = said("sys", "system", "", 0, weight=0.0, metadata={"is_visually_hidden_from_conversation": True})
    tool_call = {
        "id": "call",
        "author": {"role": "assistant"},
        "create_time": START + 40,
        "content": {"content_type": "code", "language": "unknown", "text": "print(reverse_words('a\\tb'))"},
        "recipient": "python",
    }
    tool_output = {
        "id": "out",
        "author": {"role": "tool", "name": "python"},
        "create_time": START + 41,
        "content": {"content_type": "execution_output", "text": "b a"},
    }
    mapping = {
        "root": node("root", None, ["sys"], None),
        "sys": node("sys", "root", ["u1", "u1b"], system),
        "u1": node("u1", "sys", ["a1"], said("u1", "user", "Write a Python function that reverses the words", 10)),
        "a1": node("a1", "u1", ["u2"], said("a1", "assistant", ANSWER, 20)),
        "u2": node("u2", "a1", ["call"], said("u2", "user", "Now handle tabs too", 30)),
        "call": node("call", "u2", ["out"], tool_call),
        "out": node("out", "call", ["a2"], tool_output),
        "a2": node("a2", "out", [], said("a2", "assistant", TABS_ANSWER, 50)),
        # The first prompt edited: ChatGPT keeps both versions as siblings.
        "u1b": node(
            "u1b", "sys", ["a3"], said("u1b", "user", "Write a JavaScript function that reverses each word", 60)
        ),
        "a3": node("a3", "u1b", [], said("a3", "assistant", EACH_ANSWER, 70)),
    }
    only_system = {
        "root": node("root", None, ["sys"], None),
        "sys": node("sys", "root", [], system),
    }
    return [
        {
            "title": "Reverse words in Python",
            "create_time": START,
            "update_time": START + 70,
            "mapping": mapping,
            "moderation_results": [],
            "current_node": "a3",
            "plugin_ids": None,
            "conversation_id": "6789abcd-0000-4000-8000-000000000001",
            "id": "6789abcd-0000-4000-8000-000000000001",
        },
        {
            "title": "Only a system prompt",
            "create_time": START,
            "update_time": START,
            "mapping": only_system,
            "id": "x2",
        },
    ]


async def test_a_chatgpt_export_becomes_conversations_with_trees_and_snippets(
    app: FastAPI, client: httpx.AsyncClient, user: UserHandle
) -> None:
    response = await import_document(client, user, chatgpt_export())
    assert response.status_code == 200, response.text
    skipped_empty = {
        "index": 1,
        "title": "Only a system prompt",
        "detail": "It has no message of a user or an assistant with text.",
    }
    assert response.json() == {"imported": 1, "skipped": 0, "errors": [skipped_empty]}

    [item] = (await client.get("/conversations", headers=user.headers)).json()["items"]
    assert item["title"] == "Reverse words in Python" and item["source"] == "import"
    assert item["created_at"] == "2025-01-01T10:00:00Z" and item["updated_at"] == "2025-01-01T10:01:10Z"
    assert item["preview"].startswith("def reverse_words(sentence: str)")
    detail = (await client.get(f"/conversations/{item['id']}", headers=user.headers)).json()
    by_content = {m["content"]: m for m in detail["messages"]}
    assert len(detail["messages"]) == 6  # system, tool call, tool output and the empty root are left out
    first, answer = by_content["Write a Python function that reverses the words"], by_content[ANSWER]
    feedback, tabs = by_content["Now handle tabs too"], by_content[TABS_ANSWER]
    edited = by_content["Write a JavaScript function that reverses each word"]
    assert (first["kind"], first["parent_id"], first["created_at"]) == ("request", None, "2025-01-01T10:00:10Z")
    assert (answer["kind"], answer["status"], answer["parent_id"]) == ("generation", "complete", first["id"])
    assert (feedback["kind"], feedback["parent_id"]) == ("feedback", answer["id"])
    assert tabs["parent_id"] == feedback["id"]  # under the nearest kept ancestor
    assert (edited["kind"], edited["parent_id"]) == ("request", None)  # a sibling of the first request
    assert by_content[EACH_ANSWER]["parent_id"] == edited["id"]
    assert [s["language"] for s in answer["snippets"]] == ["python"]
    assert [s["language"] for s in by_content[EACH_ANSWER]["snippets"]] == ["javascript"]
    assert first["snippets"] == []

    found = (await client.get("/conversations", params={"q": "handle tabs"}, headers=user.headers)).json()["items"]
    assert [c["id"] for c in found] == [item["id"]]
    code = (await client.get("/snippets", params={"q": "reverseEach"}, headers=user.headers)).json()["items"]
    assert [s["message_id"] for s in code] == [by_content[EACH_ANSWER]["id"]]

    before = await rows_of(app, user)
    again = await import_document(client, user, chatgpt_export())
    assert again.json() == {"imported": 0, "skipped": 1, "errors": [skipped_empty]}
    assert await rows_of(app, user) == before


async def test_a_cycle_in_the_mapping_is_422_and_nothing_written(
    app: FastAPI, client: httpx.AsyncClient, user: UserHandle
) -> None:
    document = chatgpt_export()
    document[0]["mapping"]["u1"]["parent"] = "a2"  # u1 -> a2 -> ... -> u1
    response = await import_document(client, user, document)
    assert response.status_code == 422
    assert response.json()["errors"][0]["msg"] == "The nodes' parents form a cycle."
    assert await rows_of(app, user) == (0, 0, 0)


async def test_a_wrong_type_deep_in_a_node_is_422(app: FastAPI, client: httpx.AsyncClient, user: UserHandle) -> None:
    document = chatgpt_export()
    document[0]["mapping"]["a1"]["message"]["create_time"] = "yesterday"
    response = await import_document(client, user, document)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", 0, "mapping", "a1", "message", "create_time"]
    assert await rows_of(app, user) == (0, 0, 0)
