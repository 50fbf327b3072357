"""The sandbox API at /bumblebee: webhook CRUD, its 400s and 404s, the message log's 404s."""

from __future__ import annotations

from typing import Any

import pytest

from .helpers import create_webhook

HOOK = {"url": "https://receiver.example.com/bumblebee", "data_types": ["geo_location/create"]}


def test_create_get_list_update_delete(bumblebee: Any) -> None:
    client = bumblebee.client
    response = client.post(
        "/webhooks",
        json={**HOOK, "headers": {"Authorization": "Bearer s3cr3t"}, "description": "Fleet"},
    )
    assert response.status_code == 201
    hook = response.json()
    assert response.headers["Location"] == f"/bumblebee/webhooks/{hook['id']}"
    assert hook["url"] == HOOK["url"]
    assert hook["data_types"] == ["geo_location/create"]
    assert hook["headers"] == {"Authorization": "Bearer s3cr3t"}
    assert hook["description"] == "Fleet"
    assert hook["enabled"] is True
    assert hook["created_at"] == hook["updated_at"]

    assert client.get(f"/webhooks/{hook['id']}").json() == hook
    second = create_webhook(client, "http://localhost:9000/x?y=1", ["battery_level/update"], enabled=False)
    assert [h["id"] for h in client.get("/webhooks").json()["webhooks"]] == [hook["id"], second["id"]]

    patched = client.patch(f"/webhooks/{hook['id']}", json={"headers": {"X-Tenant": "7"}, "enabled": False})
    assert patched.status_code == 200
    assert patched.json()["headers"] == {"X-Tenant": "7"}  # replaces the whole set
    assert patched.json()["enabled"] is False
    assert patched.json()["data_types"] == ["geo_location/create"]  # untouched
    unchanged = client.patch(f"/webhooks/{hook['id']}", json={})
    assert unchanged.status_code == 200 and unchanged.json() == patched.json()

    assert client.delete(f"/webhooks/{hook['id']}").status_code == 204
    for method in ("GET", "PATCH", "DELETE"):
        gone = client.request(method, f"/webhooks/{hook['id']}", json={} if method == "PATCH" else None)
        assert gone.status_code == 404
        assert gone.json() == {"error": "Webhook not found"}
    assert [h["id"] for h in client.get("/webhooks").json()["webhooks"]] == [second["id"]]


def test_reset_forgets_webhooks_and_repeats_ids(bumblebee: Any) -> None:
    first = create_webhook(bumblebee.client, **HOOK)
    bumblebee.server.reset("bumblebee")
    assert bumblebee.client.get("/webhooks").json() == {"webhooks": []}
    assert create_webhook(bumblebee.client, **HOOK)["id"] == first["id"]  # deterministic from the seed


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"url": "ftp://receiver.example.com/hook"}, "url", "http or https"),
        ({"url": "not a url"}, "url", "http or https"),
        ({"url": "mailto:ops@example.com"}, "url", "http or https"),
        ({"data_types": ["gps"]}, "data_types[0]", "unknown data type"),
        ({"data_types": []}, "data_types", ""),
        ({"data_types": ["geo_location/create", "geo_location/create"]}, "data_types", ""),
        ({"headers": {"Content-Type": "text/plain"}}, "headers.Content-Type", "set by Bumblebee"),
        ({"headers": {"user-agent": "me"}}, "headers.user-agent", "set by Bumblebee"),
        ({"headers": {"X-REQUEST-ID": "1"}}, "headers.X-REQUEST-ID", "set by Bumblebee"),
        ({"headers": {"Host": "evil"}}, "headers.Host", "set by Bumblebee"),
        ({"headers": {"content-length": "1"}}, "headers.content-length", "set by Bumblebee"),
        ({"headers": {"Bad Header": "1"}}, "headers.Bad Header", "HTTP token"),
        ({"headers": {"X-Ok": "line\r\nInjected: 1"}}, "headers.X-Ok", "one line"),
        ({"headers": {"X-Ok": 1}}, "headers.X-Ok", ""),
        ({"headers": {"X-Token": "a", "x-token": "b"}}, "headers.x-token", "repeats"),
        ({"enabled": "yes"}, "enabled", ""),
        ({"secret": "x"}, "secret", "unknown field"),
    ],
)
def test_create_rejects(bumblebee: Any, change: dict, field: str, words: str) -> None:
    response = bumblebee.client.post("/webhooks", json={**HOOK, **change})
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == "Invalid request"
    details = {d.get("field"): d["message"] for d in body["details"]}
    assert field in details, body
    assert words in details[field]
    assert bumblebee.client.get("/webhooks").json() == {"webhooks": []}


@pytest.mark.parametrize("missing", ["url", "data_types"])
def test_create_requires_url_and_data_types(bumblebee: Any, missing: str) -> None:
    body = {k: v for k, v in HOOK.items() if k != missing}
    assert bumblebee.client.post("/webhooks", json=body).status_code == 400


def test_malformed_json_is_a_400(bumblebee: Any) -> None:
    response = bumblebee.client.post(
        "/webhooks", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "Invalid request"


@pytest.mark.parametrize(
    "change",
    [
        {"url": "ftp://x.example.com"},
        {"headers": {"User-Agent": "me"}},
        {"data_types": ["nope"]},
        {"id": "x"},
    ],
)
def test_update_rejects(bumblebee: Any, change: dict) -> None:
    hook = create_webhook(bumblebee.client, **HOOK)
    response = bumblebee.client.patch(f"/webhooks/{hook['id']}", json=change)
    assert response.status_code == 400, response.text
    assert bumblebee.client.get(f"/webhooks/{hook['id']}").json() == hook


def test_message_log_404s_and_400s(bumblebee: Any) -> None:
    client = bumblebee.client
    assert client.get("/webhooks/nope/messages").status_code == 404
    refused = "http://127.0.0.1:9/hook"  # nothing listens: attempts fail at once
    hook = create_webhook(client, refused, ["geo_location/create"])
    other = create_webhook(client, refused, ["geo_location/create"])
    assert client.get(f"/webhooks/{hook['id']}/messages").json() == {"messages": []}
    assert client.get(f"/webhooks/{hook['id']}/messages", params={"state": "cancelled"}).status_code == 400
    assert client.get(f"/webhooks/{hook['id']}/messages", params={"limit": 0}).status_code == 400
    missing = client.post(f"/webhooks/{hook['id']}/messages/nope/resend")
    assert missing.status_code == 404 and missing.json() == {"error": "Message not found"}
    bumblebee.simulate("/nodes/Ref001/report", {"data_type": "geo_location/create"})
    message_id = client.get(f"/webhooks/{other['id']}/messages").json()["messages"][0]["id"]
    # a message of another webhook is not found under this one, nor under a deleted webhook
    assert client.post(f"/webhooks/{hook['id']}/messages/{message_id}/resend").status_code == 404
    client.delete(f"/webhooks/{other['id']}")
    assert client.post(f"/webhooks/{other['id']}/messages/{message_id}/resend").status_code == 404
