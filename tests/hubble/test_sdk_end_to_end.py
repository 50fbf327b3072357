"""The official SDK (`pyhubblenetwork`) and its CLI's cloud commands against the fake.

The SDK has no base-URL setting: it is pointed at the fake by replacing
`hubblenetwork.cloud._ENVIRONMENTS`. Packets are encrypted with the SDK's own crypto helpers
and keys that came back from registration, so the fake's decryption is checked against the
SDK's encryption.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from hubble_helpers import client_for
from hubblenetwork import Organization, cloud
from hubblenetwork.cli import cli
from hubblenetwork.errors import InvalidCredentialsError, NotFoundError, PermissionDeniedError, RequestError

from mockserver.contracts.sdk_exercise import ctr_packet, eax_packet

DAY = 86400


@pytest.fixture
def fake_env(hubble_api, monkeypatch):
    env = cloud.Environment("FAKE", hubble_api.base_url)
    monkeypatch.setattr(cloud, "_ENVIRONMENTS", [env])
    return hubble_api


@pytest.fixture
def org(fake_env) -> Organization:
    return Organization(fake_env.org_id, fake_env.token)


def test_register_in_every_mode(org):
    assert org.name == "Acme Asset Tracking"
    sizes = {"AES-256-CTR": 32, "AES-128-CTR": 16, "AES-128-EAX": 16}
    for encryption, size in sizes.items():
        device = org.register_device(encryption=encryption)
        assert len(device.key) == size
        fetched = org.get_device(device.id)
        assert fetched.encryption == encryption and fetched.active is False
    assert org.register_device().key is not None  # the SDK's default, AES-256-CTR
    plain = org.register_device(encryption="NONE")
    assert plain.key is None
    eax = org.register_device(encryption="AES-128-EAX", counter_source="DEVICE_UPTIME", period_exponent=12, tags={"site": "lab"})
    fetched = org.get_device(eax.id)
    assert (fetched.counter_source, fetched.period_exponent) == ("DEVICE_UPTIME", 12)
    assert fetched.tags == {"site": "lab", "_env": "production"}
    seconds = org.register_device(encryption="AES-128-EAX", counter_source="DEVICE_UPTIME", period_seconds=2048)
    assert org.get_device(seconds.id).period_exponent == 11
    unix = org.register_device(encryption="AES-256-CTR", counter_source="UNIX_TIME")
    assert org.get_device(unix.id).counter_source == "UNIX_TIME"
    with pytest.raises(RequestError):
        org.register_device(encryption="ROT13")


def test_list_with_paging_rename_tag_delete(org, fake_env, api):
    url = f"{fake_env.base_url}/api/v2/org/{fake_env.org_id}/devices"
    assert api.post(url, json={"encryption": "NONE", "n_devices": 500}).status_code == 200
    pages = []
    devices = list(org.iter_devices(on_page=lambda page, total: pages.append((page, total))))
    assert len(devices) == api.get("/devices", params={"limit": 10}).json()["total_devices"] >= 532
    assert len(pages) == 3 and len({d.id for d in devices}) == len(devices)
    target = devices[0]
    renamed = org.set_device_name(target.id, "loading-dock-7")
    assert (renamed.id, renamed.name) == (target.id, "loading-dock-7")
    cloud.update_device(credentials=org.credentials, env=org.env, name="loading-dock-7", device_id=target.id, tags={"zone": "B"})
    fetched = org.get_device(target.id)
    assert fetched.name == "loading-dock-7" and fetched.tags["zone"] == "B"
    org.delete_device(target.id)
    with pytest.raises(NotFoundError):
        org.get_device(target.id)
    assert target.id not in {d.id for d in org.list_devices()}


def test_ingest_and_read_back_real_encrypted_packets(org):
    device = org.register_device(encryption="AES-256-CTR")
    sent = [ctr_packet(device.key, f"reading-{i}".encode(), seq_no=i) for i in range(3)]
    for packet in sent:
        org.ingest_packet(packet)
    back = org.retrieve_packets(device)
    assert [p.payload for p in back] == [b"reading-0", b"reading-1", b"reading-2"]
    assert [p.sequence for p in back] == [0, 1, 2]
    assert all(p.device_id == device.id and p.counter == sent[0].timestamp // DAY for p in back)
    assert back[0].location.lat == pytest.approx(47.6062)
    assert org.get_device(device.id).active is True


def test_decode_in_the_cloud(org):
    ctr = org.register_device(encryption="AES-128-CTR")
    eax = org.register_device(encryption="AES-128-EAX", counter_source="DEVICE_UPTIME", period_exponent=15)
    stranger = ctr_packet(bytes(16), b"not ours", seq_no=3)
    packets = [
        ctr_packet(ctr.key, b"ctr", seq_no=9),
        eax_packet(eax.key, b"eax", index=0, exponent=15, salt=b"\x12\x34"),
        stranger,
    ]
    decoded = org.decode_packets(packets)
    assert decoded[2] is None
    assert (decoded[0].device_id, decoded[0].payload, decoded[0].sequence) == (ctr.id, b"ctr", 9)
    assert (decoded[1].device_id, decoded[1].payload, decoded[1].sequence) == (eax.id, b"eax", 0x1234)
    assert [p.payload for p in org.retrieve_packets(eax)] == [b"eax"]  # decoded packets are stored


def test_metrics_and_permission_errors(org, fake_env, api):
    metrics = org.device_metrics(days_back=7)
    assert len(metrics["buckets"]) == 8
    assert metrics["total_registered_devices"] == 32
    assert metrics["total_never_active_devices"] + metrics["total_active_devices"] <= 32
    key = api.post("/key", json={"scopes": ["read-organization-metadata", "read-devices"]}).json()["key"]
    limited = Organization(fake_env.org_id, key)
    assert limited.list_devices()
    with pytest.raises(PermissionDeniedError):
        limited.register_device()
    with pytest.raises(PermissionDeniedError):
        limited.decode_packets([ctr_packet(bytes(32), b"x", 1)])
    with pytest.raises(InvalidCredentialsError):
        Organization(fake_env.org_id, "not-a-key")


def test_cli_cloud_commands(fake_env, api):
    runner = CliRunner()
    env = {"HUBBLE_ORG_ID": fake_env.org_id, "HUBBLE_API_TOKEN": fake_env.token, "NO_COLOR": "1"}

    def run(*args: str) -> str:
        result = runner.invoke(cli, list(args), env=env, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    assert 'Valid credentials (env="FAKE")' in run("validate-credentials")
    assert "Acme Asset Tracking" in run("org", "info")
    listed = json.loads(run("org", "list-devices", "-f", "json"))
    assert len(listed) == 32 and {"id", "name", "tags", "created_ts", "active"} <= set(listed[0])
    assert "32 devices" in run("org", "list-devices")
    out = run("org", "register-device", "-e", "AES-128-EAX", "-c", "DEVICE_UPTIME", "--period-exponent", "12")
    new_id = out.split("Device(id='")[1].split("'")[0]
    assert "name='gate-3'" in run("org", "set-device-name", new_id, "gate-3")
    active = next(d for d in listed if d["active"])
    packets = json.loads(run("org", "get-packets", active["id"], "-o", "json"))
    expected = api.get("/packets", params={"device_id": active["id"]}).json()["packets"]
    assert [p["payload"] for p in packets] == [p["device"]["payload"] for p in expected]
    assert packets and all({"timestamp", "rssi", "counter", "sequence", "location"} <= set(p) for p in packets)
    assert "packets" in run("org", "get-packets", active["id"], "--debug")
    run("org", "delete-device", new_id, "--yes")
    assert api.get(f"/devices/{new_id}").status_code == 404
    metrics = json.loads(run("metrics", "devices", "--days", "7", "-o", "json"))
    assert metrics["total_registered_devices"] == 32
    assert "Registered:" in run("metrics", "devices")
    bad = runner.invoke(cli, ["validate-credentials"], env={**env, "HUBBLE_API_TOKEN": "wrong"})
    assert bad.exit_code == 1


def test_sdk_sees_wrong_org_as_bad_credentials(fake_env):
    other = "11111111-2222-4333-8444-555555555555"
    with pytest.raises(InvalidCredentialsError):
        Organization(other, fake_env.token)
    with client_for(fake_env.server, org_id=other) as client:
        assert client.get("/check").status_code == 401


@pytest.fixture
def limited_frozen_env(monkeypatch):
    """A server of its own with the vendor's rate limits on and the clock frozen."""
    from hubble_helpers import T0, start_server

    server = start_server(clock="frozen", clock_start=T0, rate_limit=True)
    creds = server.credentials()["hubble"]
    monkeypatch.setattr(cloud, "_ENVIRONMENTS", [cloud.Environment("FAKE", creds["base_url"])])
    try:
        yield creds
    finally:
        server.stop()


def test_cli_runs_ten_times_in_a_row_against_a_frozen_sandbox(limited_frozen_env):
    """reference/hubble-real-client.md: the SDK "treats ANY error there (429 and 500 included)
    as bad credentials" and "never retries". Rate limits are about real time (seed 000 lines
    25-30: Retry-After in seconds to wait), so a frozen sandbox clock must not pin the
    buckets full: ten CLI runs, each a third of a second apart in real time (what the 3/s
    endpoint limit needs), all see valid credentials."""
    import time

    runner = CliRunner()
    env = {"HUBBLE_ORG_ID": limited_frozen_env["org_id"], "HUBBLE_API_TOKEN": limited_frozen_env["token"], "NO_COLOR": "1"}
    outputs = []
    for i in range(10):
        args = ["validate-credentials"] if i % 2 == 0 else ["org", "info"]
        result = runner.invoke(cli, args, env=env)
        outputs.append((result.exit_code, result.output))
        time.sleep(0.4)  # a person or a script re-running the CLI; the endpoint allows 3 a second
    assert all(code == 0 for code, _ in outputs), outputs
    assert not any("Invalid credentials" in out for _, out in outputs)
    assert sum('Valid credentials (env="FAKE")' in out for _, out in outputs) == 5
