"""Hubble advertisement crypto, checked against the official SDK's own code.

Packets are built with ``hubblenetwork.crypto``'s helpers (the same ones the
SDK's own tests use: ``_get_encryption_key``, ``_get_nonce``,
``_get_auth_tag``, ``_aes_decrypt``, ``ctr_eid``, ``_generate_eid``) and
serialized/parsed with ``hubblenetwork.cloud.advertisement_bytes`` and
``hubblenetwork.ble._make_packet``; our output is decrypted with the SDK's
``decrypt``, ``decrypt_at`` and ``decrypt_eax``.
"""

from __future__ import annotations

import random
import time

import pytest
from Crypto.Cipher import AES
from hubblenetwork import ble as sdk_ble
from hubblenetwork import cloud as sdk_cloud
from hubblenetwork import crypto as sdk_crypto
from hubblenetwork.packets import AesEaxPacket, EncryptedPacket, UnencryptedPacket

from mockserver.apis.hubble import crypto
from mockserver.apis.hubble.crypto import (
    AES_128_CTR,
    AES_128_EAX,
    AES_256_CTR,
    DEVICE_UPTIME,
    ENCRYPTION_TYPES,
    NONE,
    UNIX_TIME,
    Decoder,
    DeviceKey,
    encrypt,
    generate_key,
    key_length,
)

AT = 1_760_000_000.0  # 2025-10-09 08:53:20 UTC
DAY = int(AT) // 86400
CTR_TYPES = (AES_256_CTR, AES_128_CTR)


def _key(encryption: str, seed: int) -> bytes:
    return generate_key(encryption, random.Random(seed))


def _ctr_device(device_id: str, encryption: str = AES_256_CTR, source: str | None = None, seed: int = 1):
    rot = {"counter_source": source} if source else None
    return DeviceKey(device_id, _key(encryption, seed), encryption, rot)


def _eax_device(device_id: str, exponent: int = 15, seed: int = 1, source: str = DEVICE_UPTIME):
    rot = {"counter_source": source, "period_exponent": exponent}
    return DeviceKey(device_id, _key(AES_128_EAX, seed), AES_128_EAX, rot)


# -- packets built with the SDK's own code ---------------------------------


def sdk_ctr_adv(key: bytes, counter: int, seq_no: int, plaintext: bytes) -> bytes:
    """An AES-CTR advertisement as firmware sends it, from the SDK's helpers."""
    n = len(key)
    enc_key = sdk_crypto._get_encryption_key(key, counter, seq_no, keylen=n)
    nonce = sdk_crypto._get_nonce(key, counter, seq_no, keylen=n)
    ciphertext = sdk_crypto._aes_decrypt(enc_key, nonce, plaintext)  # CTR: same operation both ways
    tag = sdk_crypto._get_auth_tag(enc_key, ciphertext)
    return (seq_no & 0x3FF).to_bytes(2, "big") + sdk_crypto.ctr_eid(key, counter) + tag + ciphertext


def sdk_eax_packet(key: bytes, index: int, exponent: int, salt: bytes, plaintext: bytes) -> AesEaxPacket:
    """An AES-EAX packet as the SDK's tests build one (tests/test_aes_eax.py)."""
    value = index << exponent
    cipher = AES.new(key, AES.MODE_EAX, mac_len=4, nonce=value.to_bytes(4, "big") + salt)
    ciphertext, tag = cipher.encrypt_and_digest(plaintext)
    return AesEaxPacket(
        timestamp=int(AT),
        location=None,
        protocol_version=2,
        nonce_salt=salt,
        eid=sdk_crypto._generate_eid(key, value, exponent),
        payload=ciphertext,
        auth_tag=tag,
        rssi=-70,
    )


def sdk_eax_adv(key: bytes, index: int, exponent: int, salt: bytes, plaintext: bytes) -> bytes:
    return sdk_cloud.advertisement_bytes(sdk_eax_packet(key, index, exponent, salt, plaintext))


def _ctr_packet(adv: bytes) -> EncryptedPacket:
    return EncryptedPacket(timestamp=int(AT), location=None, payload=adv, rssi=-70)


def _flip(data: bytes, pos: int) -> bytes:
    out = bytearray(data)
    out[pos] ^= 0x01
    return bytes(out)


# -- keys and registration data --------------------------------------------


def test_key_lengths_and_generation():
    assert ENCRYPTION_TYPES == (AES_256_CTR, AES_128_CTR, AES_128_EAX, NONE)
    assert [key_length(e) for e in ENCRYPTION_TYPES] == [32, 16, 16, 0]
    for enc in ENCRYPTION_TYPES:
        a = generate_key(enc, random.Random(7))
        assert len(a) == key_length(enc)
        assert a == generate_key(enc, random.Random(7))
    assert generate_key(AES_256_CTR, random.Random(7)) != generate_key(AES_256_CTR, random.Random(8))
    assert generate_key(NONE, random.Random(7)) == b""
    with pytest.raises(ValueError):
        key_length("AES-192-CTR")


def test_device_key_normalizes_rotation():
    assert _ctr_device("d").counter_source == UNIX_TIME
    assert _ctr_device("d").period_exponent is None
    assert _ctr_device("d", source=DEVICE_UPTIME).counter_source == DEVICE_UPTIME
    eax = DeviceKey("e", _key(AES_128_EAX, 1), AES_128_EAX)
    assert (eax.counter_source, eax.period_exponent) == (DEVICE_UPTIME, 15)
    by_seconds = DeviceKey(
        "e", eax.key, AES_128_EAX, {"counter_source": DEVICE_UPTIME, "period_in_seconds": 1024}
    )
    assert by_seconds.period_exponent == 10
    with pytest.raises(ValueError):
        DeviceKey("e", eax.key, AES_128_EAX, {"period_in_seconds": 1000})
    with pytest.raises(ValueError):
        DeviceKey("e", eax.key, AES_128_EAX, {"period_exponent": 16})
    with pytest.raises(ValueError):
        DeviceKey("d", _key(AES_256_CTR, 1), AES_256_CTR, {"counter_source": "GPS"})
    with pytest.raises(ValueError):
        DeviceKey("d", _key(AES_128_CTR, 1), AES_256_CTR)  # 16-byte key for AES-256


# -- SDK-built packets decode ----------------------------------------------


@pytest.mark.parametrize("encryption", CTR_TYPES)
@pytest.mark.parametrize("offset", [-2, -1, 0, 1, 2])
def test_ctr_unix_time_sdk_packet_decodes(encryption, offset):
    devices = [_ctr_device(f"dev-{i}", encryption, seed=i) for i in range(20)]
    target = devices[13]
    adv = sdk_ctr_adv(target.key, DAY + offset, 517, b"hello hubble!")
    parsed = sdk_ble._make_packet(adv, rssi=-70)
    assert isinstance(parsed, EncryptedPacket)

    got = Decoder(devices).decode(adv, AT)

    assert got is not None
    assert got.device_id == "dev-13"
    assert got.encryption == encryption
    assert got.payload == b"hello hubble!"
    assert got.counter == DAY + offset
    assert got.sequence_number == 517 == parsed.seq_no
    assert got.eid == parsed.eid
    assert got.auth_tag == parsed.auth_tag
    assert got.protocol_version == 0


@pytest.mark.parametrize("offset", [-4, -3, 3, 4])
def test_ctr_unix_time_outside_window_not_matched(offset):
    device = _ctr_device("dev")
    adv = sdk_ctr_adv(device.key, DAY + offset, 1, b"late")
    assert Decoder([device]).decode(adv, AT) is None
    # ...and the window follows the packet's own timestamp.
    assert Decoder([device]).decode(adv, AT + offset * 86400).counter == DAY + offset


def test_decode_window_is_configurable():
    device = _ctr_device("dev")
    adv = sdk_ctr_adv(device.key, DAY - 2, 1, b"x")
    assert Decoder([device], day_window=1).decode(adv, AT) is None
    assert Decoder([device], day_window=2).decode(adv, AT) is not None


@pytest.mark.parametrize("encryption", CTR_TYPES)
@pytest.mark.parametrize("counter", [0, 1, 64, 127])
def test_ctr_device_uptime_sdk_packet_decodes(encryption, counter):
    devices = [_ctr_device(f"up-{i}", encryption, DEVICE_UPTIME, seed=i) for i in range(5)]
    devices.append(_ctr_device("unix", encryption, seed=99))
    adv = sdk_ctr_adv(devices[3].key, counter, 1023, b"up")
    got = Decoder(devices).decode(adv, AT)
    assert got is not None
    assert (got.device_id, got.counter, got.sequence_number, got.payload) == ("up-3", counter, 1023, b"up")


def test_ctr_counter_source_must_match_registration():
    uptime = _ctr_device("up", source=DEVICE_UPTIME, seed=1)
    unix = _ctr_device("unix", seed=2)
    decoder = Decoder([uptime, unix])
    assert decoder.decode(sdk_ctr_adv(uptime.key, 128, 0, b"x"), AT) is None  # outside the pool
    assert decoder.decode(sdk_ctr_adv(uptime.key, DAY, 0, b"x"), AT) is None  # registered uptime
    assert decoder.decode(sdk_ctr_adv(unix.key, 5, 0, b"x"), AT) is None  # registered UNIX_TIME


@pytest.mark.parametrize("exponent", [0, 10, 15])
@pytest.mark.parametrize("index", [0, 1, 2, 127])
def test_eax_sdk_packet_decodes(exponent, index):
    devices = [_eax_device(f"eax-{i}", exponent, seed=i) for i in range(6)]
    devices.append(_eax_device("other-exp", 12, seed=50))
    devices.append(_ctr_device("ctr", seed=51))
    target = devices[4]
    pkt = sdk_eax_packet(target.key, index, exponent, b"\x12\x34", b"eax data!")
    sdk_result = sdk_crypto.decrypt_eax(target.key, pkt, period_exponent=exponent)
    assert sdk_result is not None and sdk_result.payload == b"eax data!"  # the SDK agrees it is valid
    adv = sdk_cloud.advertisement_bytes(pkt)
    parsed = sdk_ble._make_packet(adv, rssi=-70)
    assert isinstance(parsed, AesEaxPacket)

    got = Decoder(devices).decode(adv, AT)

    assert got is not None
    assert got.device_id == "eax-4"
    assert got.encryption == AES_128_EAX
    assert got.payload == b"eax data!"
    assert got.counter == index == sdk_result.counter
    assert got.counter_value == index << exponent
    assert got.sequence_number == 0x1234 == sdk_result.sequence
    assert got.eid == parsed.eid
    assert got.auth_tag == parsed.auth_tag
    assert got.protocol_version == 2


def test_eax_outside_pool_or_other_exponent_not_matched():
    device = _eax_device("eax", 10)
    decoder = Decoder([device])
    assert decoder.decode(sdk_eax_adv(device.key, 128, 10, b"\x00\x01", b"x"), AT) is None
    assert decoder.decode(sdk_eax_adv(device.key, 3, 11, b"\x00\x01", b"x"), AT) is None
    assert decoder.decode(sdk_eax_adv(device.key, 3, 10, b"\x00\x01", b"x"), AT).counter == 3


def test_empty_payloads_decode():
    ctr, eax = _ctr_device("ctr"), _eax_device("eax", 0)
    decoder = Decoder([ctr, eax])
    assert decoder.decode(sdk_ctr_adv(ctr.key, DAY, 0, b""), AT).payload == b""
    assert decoder.decode(sdk_eax_adv(eax.key, 0, 0, b"\x00\x00", b""), AT).payload == b""


# -- our encrypt matches the SDK -------------------------------------------


@pytest.mark.parametrize("encryption", CTR_TYPES)
def test_encrypt_ctr_unix_time_is_what_the_sdk_decrypts(encryption):
    device = _ctr_device("dev", encryption)
    adv = encrypt(device, b"payload", AT, 42)
    assert adv == sdk_ctr_adv(device.key, DAY, 42, b"payload")
    result = sdk_crypto.decrypt_at(device.key, _ctr_packet(adv), DAY)
    assert result is not None
    assert (result.payload, result.counter, result.sequence) == (b"payload", DAY, 42)
    # decrypt() searches around the real clock, so encrypt "now" for it.
    now_adv = encrypt(device, b"now", time.time(), 7)
    assert sdk_crypto.decrypt(device.key, _ctr_packet(now_adv)).payload == b"now"


@pytest.mark.parametrize("encryption", CTR_TYPES)
def test_encrypt_ctr_device_uptime_is_what_the_sdk_decrypts(encryption):
    device = _ctr_device("dev", encryption, DEVICE_UPTIME)
    adv = encrypt(device, b"up", AT, 3, uptime=5 * 86400 + 10)
    result = sdk_crypto.decrypt(device.key, _ctr_packet(adv), counter_mode="DEVICE_UPTIME")
    assert result is not None
    assert (result.payload, result.counter, result.sequence) == (b"up", 5, 3)
    assert adv == sdk_ctr_adv(device.key, 5, 3, b"up")


@pytest.mark.parametrize("exponent", [0, 10, 15])
def test_encrypt_eax_is_what_the_sdk_decrypts(exponent):
    device = _eax_device("eax", exponent)
    uptime = 77 * (1 << exponent) + 0.5
    adv = encrypt(device, b"nine byte", AT, 0xBEEF, uptime=uptime)
    assert adv == sdk_eax_adv(device.key, 77, exponent, b"\xbe\xef", b"nine byte")
    parsed = sdk_ble._make_packet(adv, rssi=-60)
    assert isinstance(parsed, AesEaxPacket)
    result = sdk_crypto.decrypt_eax(device.key, parsed, period_exponent=exponent)
    assert result is not None
    assert (result.payload, result.counter, result.sequence) == (b"nine byte", 77, 0xBEEF)


def test_encrypt_eax_unix_time_counter_rotates_with_time():
    device = _eax_device("eax", 10, source=UNIX_TIME)
    assert crypto.counter_for(device, AT) == (int(AT) >> 10) % 128
    adv = encrypt(device, b"t", AT, 1)
    assert Decoder([device]).decode(adv, AT).counter == (int(AT) >> 10) % 128


def test_encrypt_none_is_an_unencrypted_sdk_packet():
    device = DeviceKey("plain", b"", NONE, network_id=0x2_1234_5678)
    adv = encrypt(device, b"clear", AT, 0)
    parsed = sdk_ble._make_packet(adv, rssi=-50)
    assert isinstance(parsed, UnencryptedPacket)
    assert (parsed.network_id, parsed.payload) == (0x2_1234_5678, b"clear")
    got = Decoder([device]).decode(adv, AT)
    assert (got.device_id, got.payload, got.counter, got.sequence_number) == ("plain", b"clear", None, None)
    assert Decoder([DeviceKey("other", b"", NONE, network_id=1)]).decode(adv, AT) is None
    with pytest.raises(ValueError):
        encrypt(DeviceKey("nokey", b"", NONE), b"x", AT, 0)


def test_encrypt_rejects_what_firmware_cannot_send():
    with pytest.raises(ValueError):
        encrypt(_ctr_device("d"), b"x" * 14, AT, 0)
    with pytest.raises(ValueError):
        encrypt(_ctr_device("d"), b"x", AT, 1024)
    with pytest.raises(ValueError):
        encrypt(_eax_device("e"), b"x" * 10, AT, 0)
    with pytest.raises(ValueError):
        encrypt(_eax_device("e"), b"x", AT, 0, counter=128)


@pytest.mark.parametrize(
    "device",
    [
        _ctr_device("a256", AES_256_CTR),
        _ctr_device("a128", AES_128_CTR),
        _ctr_device("u256", AES_256_CTR, DEVICE_UPTIME),
        _eax_device("eax15", 15),
        _eax_device("eax0", 0, source=UNIX_TIME),
    ],
    ids=lambda d: d.device_id,
)
def test_round_trip_through_decoder(device):
    decoder = Decoder([device, _ctr_device("x", seed=9), _eax_device("y", 15, seed=9)])
    for seq, t in enumerate([AT, AT + 3600, AT + 86400, AT + 5 * 86400]):
        adv = encrypt(device, bytes([seq]) * 3, t, seq, uptime=t - AT)
        got = decoder.decode(adv, t)
        assert got is not None
        assert (got.device_id, got.payload, got.sequence_number) == (device.device_id, bytes([seq]) * 3, seq)
        assert got.counter == crypto.counter_for(device, t, uptime=t - AT)


# -- rejection ---------------------------------------------------------------


@pytest.mark.parametrize("pos", [0, 1, 2, 5, 6, 9, 10, 14])
def test_tampered_ctr_packet_rejected(pos):
    device = _ctr_device("dev")
    adv = sdk_ctr_adv(device.key, DAY, 300, b"tamper-proof")
    decoder = Decoder([device])
    assert decoder.decode(adv, AT) is not None
    bad = _flip(adv, pos)
    assert decoder.decode(bad, AT) is None
    assert sdk_crypto.decrypt_at(device.key, _ctr_packet(bad), DAY) is None or pos in (2, 5)


@pytest.mark.parametrize("pos", [1, 2, 3, 10, 11, 15, -4, -1])
def test_tampered_eax_packet_rejected(pos):
    device = _eax_device("eax", 10)
    adv = sdk_eax_adv(device.key, 9, 10, b"\x01\x02", b"tamper")
    decoder = Decoder([device])
    assert decoder.decode(adv, AT) is not None
    bad = _flip(adv, pos)
    assert decoder.decode(bad, AT) is None
    assert sdk_crypto.decrypt_eax(device.key, sdk_ble._make_packet(bad, rssi=0), period_exponent=10) is None


@pytest.mark.parametrize(
    "adv", [b"", b"\x00" * 9, b"\x08" + b"\x00" * 13, b"\x0c" + b"\x00" * 20, b"\x04\x00"]
)
def test_malformed_or_unknown_versions_rejected(adv):
    assert Decoder([_ctr_device("d"), _eax_device("e", 0)]).decode(adv, AT) is None


def test_unknown_device_not_matched():
    known, stranger = _ctr_device("known", seed=1), _ctr_device("stranger", seed=2)
    eax_known, eax_stranger = _eax_device("ek", 15, seed=3), _eax_device("es", 15, seed=4)
    decoder = Decoder([known, eax_known])
    assert decoder.decode(sdk_ctr_adv(stranger.key, DAY, 1, b"x"), AT) is None
    assert decoder.decode(sdk_eax_adv(eax_stranger.key, 1, 15, b"\x00\x00", b"x"), AT) is None
    assert Decoder().decode(sdk_ctr_adv(known.key, DAY, 1, b"x"), AT) is None


def test_add_remove_replace_after_tables_are_built():
    a, b = _ctr_device("a", seed=1), _ctr_device("b", seed=2)
    ea, eb = _eax_device("ea", 15, seed=3), _eax_device("eb", 15, seed=4)
    ua = _ctr_device("ua", source=DEVICE_UPTIME, seed=5)
    decoder = Decoder([a, ea])
    adv_a, adv_b = encrypt(a, b"a", AT, 1), encrypt(b, b"b", AT, 1)
    eadv_a, eadv_b = encrypt(ea, b"a", AT, 1, counter=5), encrypt(eb, b"b", AT, 1, counter=5)
    assert decoder.decode(adv_b, AT) is None  # builds every day table
    assert decoder.decode(eadv_b, AT) is None  # builds every EAX pool table
    decoder.add(b)
    decoder.add(eb)
    decoder.add(ua)
    assert len(decoder) == 5 and "b" in decoder
    assert decoder.decode(adv_b, AT).device_id == "b"
    assert decoder.decode(eadv_b, AT).device_id == "eb"
    assert decoder.decode(encrypt(ua, b"u", AT, 2, counter=100), AT).device_id == "ua"

    assert decoder.remove("a") is a
    assert decoder.remove("ea") is ea
    assert decoder.remove("missing") is None
    assert decoder.decode(adv_a, AT) is None
    assert decoder.decode(eadv_a, AT) is None
    assert decoder.decode(adv_b, AT).device_id == "b"

    rekeyed = _ctr_device("b", seed=42)  # same id, new key
    decoder.add(rekeyed)
    assert len(decoder) == 3
    assert decoder.decode(adv_b, AT) is None
    assert decoder.decode(encrypt(rekeyed, b"new", AT, 2), AT).payload == b"new"


def test_day_tables_are_evicted_and_rebuilt():
    device = _ctr_device("dev")
    decoder = Decoder([device], max_day_tables=5)
    for d in range(0, 40, 3):
        t = AT + d * 86400
        assert decoder.decode(encrypt(device, b"d", t, d), t).counter == DAY + d
    assert len([k for k in decoder._tables if k[0] == "day"]) <= 5
    assert decoder.decode(encrypt(device, b"d", AT, 0), AT).counter == DAY


def test_eid_collision_resolved_by_auth_tag(monkeypatch):
    monkeypatch.setattr(crypto, "ctr_eid", lambda key, counter: b"\x00\x00\x00\x00")
    devices = [_ctr_device(f"dev-{i}", seed=i) for i in range(4)]
    decoder = Decoder(devices)
    for device in devices:
        got = decoder.decode(encrypt(device, device.device_id.encode(), AT, 9), AT)
        assert got.device_id == device.device_id and got.payload == device.device_id.encode()


# -- scale ---------------------------------------------------------------------


def test_five_thousand_devices_use_the_eid_index(monkeypatch):
    rng = random.Random(2024)
    encs = [AES_256_CTR] * 3 + [AES_128_CTR]
    devices = [DeviceKey(f"dev-{i:04d}", generate_key(encs[i % 4], rng), encs[i % 4]) for i in range(4950)]
    devices += [
        DeviceKey(f"eax-{i:02d}", generate_key(AES_128_EAX, rng), AES_128_EAX, {"period_exponent": 15})
        for i in range(50)
    ]
    decoder = Decoder(devices)
    assert len(decoder) == 5000
    target, second, eax = devices[2501], devices[17], devices[4970]

    tag_checks = []
    real_ctr_keys = crypto._ctr_keys
    monkeypatch.setattr(crypto, "_ctr_keys", lambda *a: tag_checks.append(a) or real_ctr_keys(*a))

    got = decoder.decode(sdk_ctr_adv(target.key, DAY, 12, b"needle"), AT)
    assert (got.device_id, got.payload, got.counter, got.sequence_number) == (
        target.device_id,
        b"needle",
        DAY,
        12,
    )
    assert len(tag_checks) == 1  # only the EID's owner was tried, not every key

    eid_calls = []
    real_ctr_eid = crypto.ctr_eid
    monkeypatch.setattr(crypto, "ctr_eid", lambda *a: eid_calls.append(a) or real_ctr_eid(*a))
    got = decoder.decode(sdk_ctr_adv(second.key, DAY, 13, b"cached"), AT)
    assert got.device_id == second.device_id
    assert eid_calls == []  # today's table was cached

    got = decoder.decode(sdk_eax_adv(eax.key, 3, 15, b"\x00\x07", b"eax"), AT)
    assert (got.device_id, got.counter, got.sequence_number) == (eax.device_id, 3, 7)


@pytest.mark.parametrize("key_size", [16, 32])
def test_the_kdf_is_sp800_108_counter_mode_with_cmac(key_size):
    """The KDF runs on `cryptography` for speed; pycryptodome's reference construction (the
    one the SDK uses) must give the same bytes."""
    from Crypto.Hash import CMAC
    from Crypto.Protocol.KDF import SP800_108_Counter

    from mockserver.apis.hubble.crypto import _kdf

    rng = random.Random(key_size)
    for _ in range(20):
        key = rng.randbytes(key_size)
        size, label, context = rng.choice([key_size, 4, 12]), rng.choice([b"DeviceKey", b"Nonce", b"Key"]), rng.randrange(10**6)
        reference = SP800_108_Counter(key, size, lambda k, data: CMAC.new(k, data, ciphermod=AES).digest(),
                                      label=label, context=str(context).encode())
        assert _kdf(key, size, label, context) == reference
