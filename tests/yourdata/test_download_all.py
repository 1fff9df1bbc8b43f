"""GET /conversations/{id}/snippets.zip: "Download all" — the snippets as files, named by one rule."""

from __future__ import annotations

import io
import zipfile

import httpx

from tests.conftest import RegisterUser, UserHandle
from tests.fakes.upstream import FakeUpstream

SORT_V1 = "Sorted:\n\n```python\ndef sort_items(items):\n    return sorted(items)\n```\n"
SORT_V2 = (
    "Two files:\n\n```python\ndef sort_items(items):\n    return sorted(items, reverse=True)\n```\n\n"
    "```bash\necho sorted\n```\n\n```python\ndef sort_items(items):\n    return list(sorted(items))\n```\n"
)


def entries(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert archive.testzip() is None
        return {name: archive.read(name).decode() for name in archive.namelist()}


async def two_versions(client: httpx.AsyncClient, user: UserHandle, upstream: FakeUpstream) -> dict[str, str]:
    upstream.behaviour.replies = [SORT_V1, SORT_V2]
    created = await client.post("/conversations", json={"prompt": "Sort a list in Python"}, headers=user.headers)
    conversation = created.json()
    first = conversation["messages"][1]
    regenerated = await client.post(
        f"/conversations/{conversation['id']}/messages/{first['id']}/regenerate", json={}, headers=user.headers
    )
    second = regenerated.json()["messages"][-1]
    return {"conversation": conversation["id"], "first": first["id"], "second": second["id"]}


class TestDownloadAll:
    async def test_the_conversation_newest_first_each_file_named_like_its_snippet(
        self, client: httpx.AsyncClient, user: UserHandle, fake_model: str, fake_upstream: FakeUpstream
    ) -> None:
        ids = await two_versions(client, user, fake_upstream)
        response = await client.get(f"/conversations/{ids['conversation']}/snippets.zip", headers=user.headers)
        assert response.headers["content-disposition"] == 'attachment; filename="sort-a-list-in-python-snippets.zip"'
        files = entries(response)
        # Newest version first (its blocks in answer order): it keeps the plain names, the rest are numbered.
        assert list(files) == ["sort_items.py", "echo_sorted.sh", "sort_items-2.py", "sort_items-3.py"]
        assert files == {
            "sort_items.py": "def sort_items(items):\n    return sorted(items, reverse=True)\n",
            "echo_sorted.sh": "echo sorted\n",
            "sort_items-2.py": "def sort_items(items):\n    return list(sorted(items))\n",
            "sort_items-3.py": "def sort_items(items):\n    return sorted(items)\n",
        }
        detail = (await client.get(f"/conversations/{ids['conversation']}", headers=user.headers)).json()
        names = {s["filename"] for m in detail["messages"] for s in m["snippets"]}
        assert names == {"sort_items.py", "echo_sorted.sh"}  # the API's names, before numbering

    async def test_one_version_in_the_order_of_its_code_blocks(
        self, client: httpx.AsyncClient, user: UserHandle, fake_model: str, fake_upstream: FakeUpstream
    ) -> None:
        ids = await two_versions(client, user, fake_upstream)
        url = f"/conversations/{ids['conversation']}/snippets.zip?message_id={ids['first']}"
        response = await client.get(url, headers=user.headers)
        assert list(entries(response)) == ["sort_items.py"]
        url = f"/conversations/{ids['conversation']}/snippets.zip?message_id={ids['second']}"
        with zipfile.ZipFile(io.BytesIO((await client.get(url, headers=user.headers)).content)) as archive:
            assert archive.namelist() == ["sort_items.py", "echo_sorted.sh", "sort_items-2.py"]

    async def test_identical_code_in_two_versions_is_one_file(
        self, client: httpx.AsyncClient, user: UserHandle, fake_model: str, fake_upstream: FakeUpstream
    ) -> None:
        fake_upstream.behaviour.replies = [SORT_V1, SORT_V1]
        created = (await client.post("/conversations", json={"prompt": "Sort a list"}, headers=user.headers)).json()
        answer = created["messages"][1]["id"]
        await client.post(f"/conversations/{created['id']}/messages/{answer}/regenerate", json={}, headers=user.headers)
        response = await client.get(f"/conversations/{created['id']}/snippets.zip", headers=user.headers)
        assert list(entries(response)) == ["sort_items.py"]

    async def test_another_users_conversation_or_a_foreign_message_is_404(
        self,
        client: httpx.AsyncClient,
        user: UserHandle,
        register_user: RegisterUser,
        fake_model: str,
        fake_upstream: FakeUpstream,
    ) -> None:
        ids = await two_versions(client, user, fake_upstream)
        other = await register_user("bob@example.com")
        url = f"/conversations/{ids['conversation']}/snippets.zip"
        assert (await client.get(url, headers=other.headers)).status_code == 404
        assert (await client.get(url)).status_code == 401
        elsewhere = (await client.post("/conversations", json={"prompt": "Sort a list"}, headers=user.headers)).json()
        foreign = elsewhere["messages"][1]["id"]
        response = await client.get(f"{url}?message_id={foreign}", headers=user.headers)
        assert response.status_code == 404 and response.json()["code"] == "not_found"
        request_message = elsewhere["messages"][0]["id"]
        url = f"/conversations/{elsewhere['id']}/snippets.zip?message_id={request_message}"
        assert (await client.get(url, headers=user.headers)).status_code == 404
