"""Record the source account (both APIs), serve the recording, and compare every recorded
object through the public API; the official SDK runs against the replayed sandbox; no
secret of the source is in the file."""

from __future__ import annotations

import base64
import json

import pytest

from mockserver.scenarios import load_scenario
from mockserver.testing import HubbySigner

from .conftest import load, record, replay
from .helpers import all_devices, all_numbered, all_packets, hubble_client


@pytest.fixture(scope="module")
def recording(source, tmp_path_factory, capsys):
    out = tmp_path_factory.mktemp("rec") / "my-org.yaml"
    assert record(source.args(out, api="all")) == 0
    return out


@pytest.fixture(scope="module")
def capsys():  # module-scoped stand-in: the CLI prints, nothing here reads it
    return None


@pytest.fixture(scope="module")
def replayed(recording):
    server = replay(recording)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def doc(recording):
    return load(recording)


def test_organization_and_devices_replay_as_recorded(source, replayed, doc):
    mine = hubble_client(replayed)
    org_src, org_rep = source.hubble.get("").json(), mine.get("").json()
    assert org_rep["name"] == org_src["name"] == "Ostrich Logistics"
    assert org_rep["timezone"] == org_src["timezone"] and org_rep["address"]["city"] == "Hamburg"
    assert org_rep["contact_info"]["email"] != org_src["contact_info"]["email"]  # scrubbed
    assert org_rep["contact_info"] == doc["hubble"]["org"]["contact_info"]

    src_devices, rep_devices = all_devices(source.hubble), all_devices(mine)
    assert len(src_devices) == 1499  # 1500 seeded, one deleted
    assert [d["id"] for d in rep_devices] == [d["id"] for d in src_devices]
    recorded = {d["id"]: d for d in doc["hubble"]["recorded"]["devices"]}
    scrubbed = 0
    for src, rep in zip(src_devices, rep_devices, strict=True):
        expected = {**src, "name": recorded[src["id"]]["name"]}
        scrubbed += expected["name"] != src["name"]
        assert rep == expected
    assert scrubbed == 100 and not any("sk_live" in d["name"] for d in rep_devices)
    assert sum(d["active"] for d in rep_devices) > 500

    for src in src_devices[::7]:  # encryption and EID rotation through get-device
        want = source.hubble.get(f"/devices/{src['id']}").json()
        got = mine.get(f"/devices/{src['id']}").json()
        assert got == {**want, "name": recorded[src["id"]]["name"]}
    mine.close()


def test_packet_history_replays_as_recorded(source, replayed, doc):
    mine = hubble_client(replayed)
    at = doc["x-recorded"]["recorded_at"]
    start = at - 7 * 86400
    src_packets, rep_packets = all_packets(source.hubble, start, at), all_packets(mine, start, at)
    assert len(src_packets) > 2500
    rec = doc["hubble"]["recorded"]
    names = {d["id"]: d["name"] for d in rec["devices"]} | {p["device_id"]: p["name"] for p in rec["packets"] if "name" in p}
    expected = [{**p, "device": {**p["device"], "name": names[p["device"]["id"]]}} for p in src_packets]
    assert sum(e != p for e, p in zip(expected, src_packets, strict=True)) > 10  # names with a token in them, scrubbed
    assert rep_packets == expected  # payloads, locations, counters, order; the deleted device's name kept
    names = {d["id"] for d in all_devices(mine)}
    assert any(p["device"]["id"] not in names for p in rep_packets)
    mine.close()


def test_people_webhooks_and_invoices_replay_scrubbed(source, replayed, doc):
    mine = hubble_client(replayed)
    src_users, rep_users = all_numbered(source.hubble, "/users", "users"), all_numbered(mine, "/users", "users")
    assert len(rep_users) == len(src_users) == 12
    for src, rep, rec in zip(src_users, rep_users, doc["hubble"]["recorded"]["users"], strict=True):
        assert rep["email"] == rec["email"] != src["email"] and rep["email"].endswith("@example.com")
        assert rep["first_name"] != src["first_name"] and rep["last_name"] != src["last_name"]
        same = ("user_id", "role", "email_confirmed", "created_at", "last_active_at")
        assert {k: rep.get(k) for k in same} == {k: src.get(k) for k in same}
    src_inv, rep_inv = (c.get("/invitations").json()["invites"] for c in (source.hubble, mine))
    assert [(i["role"], i["created_at"], i["expires_at"]) for i in rep_inv] == [(i["role"], i["created_at"], i["expires_at"]) for i in src_inv]
    assert rep_inv[0]["invitee_email"] != src_inv[0]["invitee_email"]
    src_hooks, rep_hooks = (c.get("/webhooks").json()["webhooks"] for c in (source.hubble, mine))
    assert [(w["webhook_id"], w["name"], w["max_batch_size"]) for w in rep_hooks] == [(w["webhook_id"], w["name"], w["max_batch_size"]) for w in src_hooks]
    assert all(r["url"].startswith("https://hooks.example.com/") for r in rep_hooks)
    assert mine.get("/billing/invoices").json() == source.hubble.get("/billing/invoices").json()
    mine.close()


def test_the_same_address_scrubs_to_the_same_value(doc):
    users = doc["hubble"]["recorded"]["users"]
    assert len({u["email"] for u in users}) == len(users)
    text = json.dumps(doc)
    assert "ostrich-logistics.de" not in text


def test_hubby_bookings_replay_with_their_state(source, replayed, doc):
    creds = replayed.credentials()["hubby"]
    import httpx

    mine = httpx.Client(base_url=replayed.hubby_url, auth=HubbySigner(creds["api_key"], creds["secret"]), trust_env=False)
    src = source.hubby.get("/bookings", params={"perPage": 100}).json()["data"]
    rep = mine.get("/bookings", params={"perPage": 100}).json()["data"]
    assert [b["booking_id"] for b in rep] == [b["booking_id"] for b in src]
    for s, r in zip(src, rep, strict=True):
        for key in ("status", "departure_date", "return_date", "external_user_id", "pax"):
            assert r[key] == s[key], (s["booking_id"], key)
        assert [c["package_id"] for c in r["promo_codes"]] == [c["package_id"] for c in s["promo_codes"]]
        assert [bool(c["claimed_at"]) for c in r["promo_codes"]] == [bool(c["claimed_at"]) for c in s["promo_codes"]]
        assert (r["email"] is None) == (s["email"] is None) and (r["email"] is None or r["email"] != s["email"])
        for iccid_s, iccid_r in zip(s["esims"], r["esims"], strict=True):
            es, er = (c.get(f"/esims/{i}").json()["data"] for c, i in ((source.hubby, iccid_s), (mine, iccid_r)))
            assert (er["status"], er["data_used"], er["total_data"]) == (es["status"], es["data_used"], es["total_data"])
    mine.close()


def test_no_secret_of_the_source_is_in_the_file(source, recording):
    text = recording.read_text(encoding="utf-8")
    state = source.server.snapshot()
    secrets = {source.token, source.api_key, source.secret, "sk_live_4eC39HqLyjWDarjtT1zdp7dc", "whk_9f8e7d6c5b4a39281706abcdef"}
    tables = state.get("tables", state)
    for rows in tables.values():
        if not isinstance(rows, dict):
            continue
        for row in rows.values():
            if not isinstance(row, dict):
                continue
            for field in ("key", "secret", "api_key", "webhook_api_key", "token", "token_sha256", "promo_code", "matching_id"):
                if isinstance(row.get(field), str) and len(row[field]) >= 8:
                    secrets.add(row[field])
    device_keys = [s for s in secrets if len(s) >= 20]
    assert len(device_keys) > 1000  # every device key, webhook secret and partner secret is looked for
    codes = [row["promo_code"] for row in tables["hubby.promo_codes"].values()]
    assert len(codes) >= 5 and set(codes) <= secrets  # promo codes and eSIM activation codes too
    found = sorted(s for s in secrets if s in text)
    assert found == []
    for key in list(secrets)[:50]:  # base64 keys are not there in another spelling either
        try:
            raw = base64.b64decode(key, validate=True)
        except Exception:
            continue
        assert raw.hex() not in text


def test_file_says_where_when_and_what_was_scrubbed(source, recording, doc):
    head = recording.read_text(encoding="utf-8").splitlines()[:3]
    assert source.server.hubble_url in head[0] and "at 20" in head[0]
    assert "email" in head[1] and "webhook_url" in head[1]
    meta = doc["x-recorded"]
    assert meta["scrubbed"]["replaced"]["email"] >= 13 and meta["scrubbed"]["kept"] == []
    assert {s["api"] for s in meta["sources"]} == {"hubble", "hubby"}


def test_official_sdk_against_the_replayed_sandbox(replayed, doc, monkeypatch):
    from hubblenetwork import Organization, cloud

    monkeypatch.setattr(cloud, "_ENVIRONMENTS", [cloud.Environment("FAKE", replayed.hubble_url)])
    creds = replayed.credentials()["hubble"]
    org = Organization(creds["org_id"], creds["token"])
    assert org.name == "Ostrich Logistics"
    devices = list(org.iter_devices())
    recorded = {d["id"]: d for d in doc["hubble"]["recorded"]["devices"]}
    assert {d.id for d in devices} == set(recorded)
    eax = next(d for d in recorded.values() if d.get("encryption") == "AES-128-EAX")
    fetched = org.get_device(eax["id"])
    assert fetched.encryption == "AES-128-EAX" and fetched.period_exponent == 12
    busy = next(p["device_id"] for p in doc["hubble"]["recorded"]["packets"] if p["device_id"] in recorded)
    want = [base64.b64decode(p["payload"]) for p in doc["hubble"]["recorded"]["packets"] if p["device_id"] == busy]
    got = [p.payload for p in org.retrieve_packets(org.get_device(busy), days=7)]
    assert got == want


def test_metrics_follow_from_the_replayed_history(source, replayed, doc):
    """Metrics are not recorded: the replay derives them from the devices and packets, and
    they come out as the source's."""
    import time

    at = doc["x-recorded"]["recorded_at"]
    if time.gmtime(at).tm_yday != time.gmtime(source.server.now()).tm_yday:
        pytest.skip("the UTC day changed between recording and comparing")
    mine = hubble_client(replayed)
    for path in ("/packet_metrics", "/device_metrics"):
        want = source.hubble.get(path, params={"days": 7}).json()
        got = mine.get(path, params={"days": 7}).json()
        assert got == want, path
        if path == "/packet_metrics":
            assert want["total_packets"] == len(doc["hubble"]["recorded"]["packets"]) > 2500
    mine.close()


def test_hubby_alone_with_signed_requests(source, tmp_path):
    out = tmp_path / "bookings.yaml"
    source.server.clear_requests()
    assert record(source.args(out, api="hubby")) == 0
    doc = load(out)
    assert "hubble" not in doc and len(doc["hubby"]["bookings"]) == 5
    assert {b["state"] for b in doc["hubby"]["bookings"]} == {"created", "installed", "active", "cancelled", "claimed"}
    calls = source.server.requests(api="hubby")
    assert calls and all(c["status"] == 200 for c in calls)  # every request signed and accepted
    assert source.server.requests(api="hubble") == []
    load_scenario(out)
