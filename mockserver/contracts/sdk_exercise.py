"""Every cloud call of the official Hubble SDK (`pyhubblenetwork`), made once against a fake.

Run it as a client under the harness (it reads the variables `mockserver contracts client`
sets):

    mockserver contracts client --vendor-spec ../shared/reference/hubble-openapi.yaml \\
        -- python -m mockserver.contracts.sdk_exercise

`mockserver contracts sdk-report` runs it in-process and writes REPORT-pyhubblenetwork.md;
it tells the calls apart by the fake's journal position at the start of each (`on_step`),
so nothing is added to what the SDK sends.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx

DAY = 86400


@contextlib.contextmanager
def sdk_pointed_at(hubble_url: str) -> Iterator[Any]:
    """Point the SDK at `hubble_url` by replacing its `_ENVIRONMENTS` list (it has no base-URL
    setting; its own tests do the same)."""
    from hubblenetwork import cloud

    original = cloud._ENVIRONMENTS
    cloud._ENVIRONMENTS = [cloud.Environment("FAKE", hubble_url)]
    try:
        yield cloud
    finally:
        cloud._ENVIRONMENTS = original


def ctr_packet(key: bytes, plaintext: bytes, seq_no: int, at: int | None = None) -> Any:
    """An AES-CTR advertisement built with the SDK's own crypto helpers (at: now by default)."""
    from hubblenetwork import crypto as sdk_crypto
    from hubblenetwork.packets import EncryptedPacket, Location

    at = int(time.time()) if at is None else at
    counter = at // DAY
    enc_key = sdk_crypto._get_encryption_key(key, counter, seq_no, keylen=len(key))
    nonce = sdk_crypto._get_nonce(key, counter, seq_no, keylen=len(key))
    ciphertext = sdk_crypto._aes_decrypt(enc_key, nonce, plaintext)
    tag = sdk_crypto._get_auth_tag(enc_key, ciphertext)
    adv = seq_no.to_bytes(2, "big") + sdk_crypto.ctr_eid(key, counter) + tag + ciphertext
    return EncryptedPacket(timestamp=at, location=Location(lat=47.6062, lon=-122.3321), payload=adv, rssi=-71, seq_no=seq_no)


def eax_packet(key: bytes, plaintext: bytes, exponent: int, salt: bytes, at: int | None = None, index: int = 0) -> Any:
    """An AES-128-EAX advertisement for rotation `index` (at: now by default)."""
    from Crypto.Cipher import AES
    from hubblenetwork import crypto as sdk_crypto
    from hubblenetwork.packets import AesEaxPacket, Location

    at = int(time.time()) if at is None else at
    value = index << exponent
    cipher = AES.new(key, AES.MODE_EAX, mac_len=4, nonce=value.to_bytes(4, "big") + salt)
    ciphertext, tag = cipher.encrypt_and_digest(plaintext)
    return AesEaxPacket(
        timestamp=at, location=Location(lat=51.5, lon=-0.12), protocol_version=2, nonce_salt=salt,
        eid=sdk_crypto._generate_eid(key, value, exponent), payload=ciphertext, auth_tag=tag, rssi=-80,
    )  # fmt: skip


# (call name, what it does) in the order they run; the report lists them in this order
CALLS = [
    ("Organization()", "validate the key (GET check) and read the org's name"),
    ("register_device()", "default encryption (AES-256-CTR)"),
    ("register_device(AES-128-CTR)", "AES-128-CTR"),
    ("register_device(NONE)", "an unencrypted device"),
    ("register_device(AES-128-EAX, DEVICE_UPTIME, period_exponent, tags)", "eid_rotation and tags"),
    ("register_device(AES-128-EAX, DEVICE_UPTIME, period_seconds)", "period in seconds"),
    ("register_device(AES-256-CTR, UNIX_TIME)", "explicit UNIX_TIME counter"),
    ("list_devices()", "every page, following Continuation-Token"),
    ("get_device()", "one device"),
    ("set_device_name()", "rename"),
    ("cloud.update_device(tags)", "rename and replace tags"),
    ("ingest_packet()", "an encrypted AES-CTR advertisement"),
    ("retrieve_packets()", "one device's packets of the last 7 days"),
    ("decode_packets()", "AES-CTR and AES-EAX advertisements decoded in the cloud"),
    ("device_metrics()", "daysBack=7"),
    ("cloud.device_metrics(time_interval)", "daysBack=2&timeInterval=day"),
    ("delete_device()", "remove a device"),
    ("Organization(wrong key)", "a refused key"),
]


def exercise(
    hubble_url: str, org_id: str, token: str, *, setup_devices: int = 300, on_step: Callable[[str], None] | None = None
) -> dict[str, str]:
    """Make every SDK call once; returns {call: outcome}. `on_step(name)` runs before each."""
    from hubblenetwork import Organization

    outcomes: dict[str, str] = {}
    now = int(time.time())
    if on_step is not None:
        on_step("(setup)")
    # enough devices that listing takes more than one page (setup: not an SDK call)
    with httpx.Client(timeout=60, trust_env=False) as raw:
        raw.post(
            f"{hubble_url}/api/v2/org/{org_id}/devices",
            json={"n_devices": setup_devices, "encryption": "NONE"},
            headers={"Authorization": f"Bearer {token}"},
        ).raise_for_status()

    def step(name: str, fn: Callable[[], Any]) -> Any:
        if on_step is not None:
            on_step(name)
        try:
            result = fn()
        except Exception as exc:  # the outcome is part of the report
            outcomes[name] = f"raised {type(exc).__name__}"
            return None
        outcomes[name] = "ok"
        return result

    with sdk_pointed_at(hubble_url) as cloud:
        org = step("Organization()", lambda: Organization(org_id, token))
        if org is None:
            return outcomes
        default = step("register_device()", lambda: org.register_device())
        step("register_device(AES-128-CTR)", lambda: org.register_device(encryption="AES-128-CTR"))
        step("register_device(NONE)", lambda: org.register_device(encryption="NONE"))
        eax = step("register_device(AES-128-EAX, DEVICE_UPTIME, period_exponent, tags)", lambda: org.register_device(
            encryption="AES-128-EAX", counter_source="DEVICE_UPTIME", period_exponent=15, tags={"site": "lab"}))
        step("register_device(AES-128-EAX, DEVICE_UPTIME, period_seconds)", lambda: org.register_device(
            encryption="AES-128-EAX", counter_source="DEVICE_UPTIME", period_seconds=2048))
        step("register_device(AES-256-CTR, UNIX_TIME)", lambda: org.register_device(
            encryption="AES-256-CTR", counter_source="UNIX_TIME"))
        step("list_devices()", org.list_devices)
        if default is not None:
            step("get_device()", lambda: org.get_device(default.id))
            step("set_device_name()", lambda: org.set_device_name(default.id, "dock-7"))
            step("cloud.update_device(tags)", lambda: cloud.update_device(
                credentials=org.credentials, env=org.env, name="dock-7", device_id=default.id, tags={"zone": "B"}))
            step("ingest_packet()", lambda: org.ingest_packet(ctr_packet(default.key, b"reading-0", 0, now)))
            step("retrieve_packets()", lambda: org.retrieve_packets(default, days=7))
            packets = [ctr_packet(default.key, b"ctr", 9, now)]
            if eax is not None:
                packets.append(eax_packet(eax.key, b"eax", 15, b"\x12\x34", now))
            step("decode_packets()", lambda: org.decode_packets(packets))
        step("device_metrics()", lambda: org.device_metrics(days_back=7))
        step("cloud.device_metrics(time_interval)", lambda: cloud.device_metrics(
            credentials=org.credentials, env=org.env, days_back=2, time_interval="day"))
        if default is not None:
            step("delete_device()", lambda: org.delete_device(default.id))
        step("Organization(wrong key)", lambda: Organization(org_id, "not-a-key"))
    return outcomes


def main() -> int:
    try:
        url, org_id, token = (os.environ[k] for k in ("HUBBLE_BASE_URL", "HUBBLE_ORG_ID", "HUBBLE_API_TOKEN"))
    except KeyError as exc:
        print(f"sdk_exercise: {exc.args[0]} is not set (run it under `mockserver contracts client`)", file=sys.stderr)
        return 2
    outcomes = exercise(url, org_id, token)
    for name, outcome in outcomes.items():
        print(f"  {name:<70} {outcome}")
    expected_failures = {"Organization(wrong key)"}
    bad = [n for n, o in outcomes.items() if o != "ok" and n not in expected_failures]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
