"""`--since`: a refresh keeps hand edits to entries that did not change upstream and says
what changed; `--anonymize` and `--keep`."""

from __future__ import annotations

import base64

import pytest

from mockserver.scenarios import load_scenario

from .conftest import load, record
from .helpers import all_devices

HAND_ADDED = "00000000-0000-4000-8000-00000000beef"


@pytest.fixture
def source(small_source):
    state = small_source.server.snapshot()
    yield small_source
    small_source.server.restore(state)


def _devices(path):
    return {d["id"]: d for d in load(path)["hubble"]["recorded"]["devices"]}


def test_refresh_keeps_hand_edits_and_prints_changes(source, tmp_path, capsys):
    first = tmp_path / "first.yaml"
    assert record(source.args(first)) == 0
    ids = [d["id"] for d in all_devices(source.hubble)]
    edited, renamed, deleted = ids[0], ids[1], ids[2]
    text = first.read_text(encoding="utf-8")
    line = next(line for line in text.splitlines() if f'"id": "{edited}"' in line)
    hand = line.replace('"name": "van-', '"name": "checked by Sam, van-')
    assert hand != line
    added = f'    - {{"id": "{HAND_ADDED}", "name": "my test device", "created_ts": 1700000000, "tags": {{"_env": "sandbox"}}}}'
    first.write_text(text.replace(line, hand + "\n" + added), encoding="utf-8")

    assert source.hubble.patch(f"/devices/{renamed}", json={"set_name": "van-renamed"}).status_code == 200
    assert source.hubble.delete(f"/devices/{deleted}").status_code == 200
    v2 = f"{source.server.hubble_url}/api/v2/org/{source.org_id}/devices"
    new = source.hubble.post(v2, json={"n_devices": 1, "encryption": "AES-128-CTR", "names": ["van-new"]}).json()["devices"][0]["device_id"]
    capsys.readouterr()

    second = tmp_path / "second.yaml"
    assert record(source.args(second, "--since", str(first))) == 0
    said = capsys.readouterr().out
    line = next(x for x in said.splitlines() if "hubble.recorded.devices:" in x)
    parts = line.split("hubble.recorded.devices: ", 1)[1].split(", ")
    assert sorted(parts) == sorted(["1 hand edits kept", "1 changed", "1 added", "1 removed upstream", "1 hand-added kept", "26 unchanged"]), line
    devices = _devices(second)
    assert devices[edited]["name"].startswith("checked by Sam, van-")
    assert devices[renamed]["name"] == "van-renamed"
    assert deleted not in devices and devices[new]["name"] == "van-new"
    assert devices[HAND_ADDED]["name"] == "my test device"
    assert "hubble.recorded.packets:" in said
    load_scenario(second)  # still a valid scenario

    third = tmp_path / "third.yaml"  # a second refresh still knows the edit is the user's
    assert record(source.args(third, "--since", str(second))) == 0
    assert _devices(third)[edited]["name"].startswith("checked by Sam, van-")
    assert "1 hand edits kept" in capsys.readouterr().out


def test_anonymize_and_keep(source, tmp_path):
    plain, anon, again = (tmp_path / n for n in ("plain.yaml", "anon.yaml", "again.yaml"))
    assert record(source.args(plain)) == 0
    assert record(source.args(anon, "--anonymize", "--keep", "email")) == 0
    assert record(source.args(again, "--anonymize", "--keep", "email")) == 0
    p, a = load(plain)["hubble"]["recorded"], load(anon)["hubble"]["recorded"]
    assert [x["device_id"] for x in p["packets"]] == [x["device_id"] for x in a["packets"]]
    assert all(x["payload"] != y["payload"] for x, y in zip(p["packets"], a["packets"], strict=True))
    assert all(len(base64.b64decode(x["payload"])) == len(base64.b64decode(y["payload"])) for x, y in zip(p["packets"], a["packets"], strict=True))
    assert all(x["location"]["latitude"] != y["location"]["latitude"] for x, y in zip(p["packets"], a["packets"], strict=True))
    assert a["packets"] == load(again)["hubble"]["recorded"]["packets"]  # generated values are stable
    assert {u["email"] for u in a["users"]} == {"boss@smallfleet.io", "dispatch@smallfleet.io"}
    assert {u["first_name"] for u in a["users"]} != {"Bea", "Dirk"}  # only email was kept
    assert load(anon)["x-recorded"]["scrubbed"]["kept"] == ["email"]
    assert {u["email"] for u in p["users"]}.isdisjoint({"boss@smallfleet.io", "dispatch@smallfleet.io"})
