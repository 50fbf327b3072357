"""Hubble BLE advertisement crypto: device keys, decoding and encoding.

Pure functions and classes (no HTTP, no module-level state) that mirror what
the official SDK (``pyhubblenetwork`` 0.15.0, ``hubblenetwork/crypto.py``,
``ble.py``, ``packets.py``) and the device firmware (``hubble-device-sdk``)
do, so the fake's ingest and decode endpoints can attribute advertisements to
registered devices the way Hubble's backend does.

Service-data layouts (what ``POST /api/org/{org}/packets`` and
``/packets/decode`` carry, base64-encoded, as ``payload``)::

    AES-CTR  (protocol version 0, AES-256-CTR / AES-128-CTR)
      [0:2]  version (6 bits, = 0) | sequence number (10 bits), big-endian
      [2:6]  EID: KDF(KDF(key, "DeviceKey", str(counter)), "DeviceID", "0")[:4]
      [6:10] auth tag: CMAC(enc_key, ciphertext)[:4]
      [10:]  ciphertext: AES-CTR(enc_key, nonce) of the payload (<= 13 bytes)
      enc_key = KDF(KDF(key, "EncryptionKey", str(counter)), "Key", str(seq))
      nonce   = KDF(KDF(key, "NonceKey", str(counter)), "Nonce", str(seq))[:12]
      KDF is NIST SP 800-108 counter mode with AES-CMAC; output sizes are the
      key length except the 12-byte nonce and 4-byte EID.

    AES-EAX  (protocol version 2, AES-128-EAX)
      [0]     version << 2 (low two bits reserved, zero)
      [1:3]   nonce salt; the SDK reports it as the sequence number
      [3:11]  EID, uint64 little-endian (see :func:`eax_eid`)
      [11:-4] ciphertext (<= 9 bytes)
      [-4:]   EAX tag (4 bytes); nonce = counter (4 bytes BE) + salt, no AAD

    Unencrypted (protocol version 1, encryption NONE)
      [0:5]   version (6 bits, = 1) | network id (34 bits), big-endian
      [5:]    payload in clear

Counters (``eid_rotation.counter_source``):

* AES-CTR, ``UNIX_TIME`` (the default): the counter is the Unix day,
  ``floor(t / 86400)``. The backend searches +/-2 days (the SDK's
  ``validate._CLOCK_TOLERANCE_DAYS``: "the day window decrypt() (and the
  backend) searches around now"); :class:`Decoder` centres that window on the
  advertisement's own timestamp (``at_time``).
* AES-CTR, ``DEVICE_UPTIME``: the counter is one of the fixed pool 0..127
  (hubble-device-sdk's pool); the fake models it as uptime days mod 128.
* AES-EAX: the SDK's ``decrypt_eax`` searches pool indexes 0..127; the
  counter value is ``index << period_exponent`` (period = 2**exponent s,
  default 15, from ``period_exponent`` or a power-of-two
  ``period_in_seconds``). The reported ``counter`` is the index, as the SDK
  reports it. The fake derives the index from uptime (``DEVICE_UPTIME``, the
  default for EAX) or from Unix time (``UNIX_TIME``), both mod 128.

Devices are identified by EID (the SDK: "the backend looks devices up by
EID"): :class:`Decoder` keeps, per plausible counter, a lazily built and
cached table EID -> device ids, then confirms the match with the auth tag.
"""

from __future__ import annotations

import base64
import math
import random
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from ...kernel.lazy import on_first_use

# pycryptodome costs ~0.1 s to import (cffi parses C declarations), `cryptography` tens of ms:
# a server that loads its state and decodes nothing yet never pays it (each name becomes the
# real object at first use)
AES: Any = on_first_use(globals(), "AES", "Crypto.Cipher.AES")
CMAC: Any = on_first_use(globals(), "CMAC", "Crypto.Hash.CMAC")
algorithms: Any = on_first_use(globals(), "algorithms", "cryptography.hazmat.primitives.ciphers.algorithms")
KBKDFCMAC: Any = on_first_use(globals(), "KBKDFCMAC", "cryptography.hazmat.primitives.kdf.kbkdf", "KBKDFCMAC")
CounterLocation: Any = on_first_use(globals(), "CounterLocation", "cryptography.hazmat.primitives.kdf.kbkdf", "CounterLocation")
Mode: Any = on_first_use(globals(), "Mode", "cryptography.hazmat.primitives.kdf.kbkdf", "Mode")

__all__ = [
    "AES_128_CTR",
    "AES_128_EAX",
    "AES_256_CTR",
    "COUNTER_SOURCES",
    "DEFAULT_DAY_WINDOW",
    "DEFAULT_EAX_PERIOD_EXPONENT",
    "DEVICE_UPTIME",
    "ENCRYPTION_TYPES",
    "MAX_CTR_PAYLOAD",
    "MAX_EAX_PAYLOAD",
    "MAX_SEQ_NO",
    "NONE",
    "POOL_SIZE",
    "UNIX_TIME",
    "Decoded",
    "Decoder",
    "DeviceKey",
    "ctr_eid",
    "eax_eid",
    "encrypt",
    "generate_key",
    "key_length",
]

AES_256_CTR = "AES-256-CTR"
AES_128_CTR = "AES-128-CTR"
AES_128_EAX = "AES-128-EAX"
NONE = "NONE"
ENCRYPTION_TYPES: tuple[str, ...] = (AES_256_CTR, AES_128_CTR, AES_128_EAX, NONE)
_KEY_LENGTHS = {AES_256_CTR: 32, AES_128_CTR: 16, AES_128_EAX: 16, NONE: 0}
_CTR_TYPES = frozenset({AES_256_CTR, AES_128_CTR})

UNIX_TIME = "UNIX_TIME"
DEVICE_UPTIME = "DEVICE_UPTIME"
COUNTER_SOURCES: tuple[str, ...] = (UNIX_TIME, DEVICE_UPTIME)

PROTOCOL_CTR = 0
PROTOCOL_UNENCRYPTED = 1
PROTOCOL_EAX = 2

POOL_SIZE = 128  # DEVICE_UPTIME counters, and AES-EAX pool indexes
DEFAULT_DAY_WINDOW = 2  # UNIX_TIME days searched either side of at_time
DEFAULT_EAX_PERIOD_EXPONENT = 15  # the SDK CLI: "Cloud accepts 10-15 (default 15)"
MAX_PERIOD_EXPONENT = 15
MAX_SEQ_NO = 0x3FF
MAX_CTR_PAYLOAD = 13
MAX_EAX_PAYLOAD = 9
_NETWORK_ID_BITS = 34
_SECONDS_PER_DAY = 86400

_NONCE_SIZE = 12
_TAG_SIZE = 4
_CTR_HEADER = 10  # seq(2) + EID(4) + tag(4)
_EAX_MIN = 15  # version(1) + salt(2) + EID(8) + tag(4)


# ---------------------------------------------------------------------------
# Keys
# ---------------------------------------------------------------------------


def key_length(encryption: str) -> int:
    """Key size in bytes for an encryption type (0 for ``NONE``)."""
    try:
        return _KEY_LENGTHS[encryption]
    except KeyError:
        raise ValueError(f"encryption must be one of {list(ENCRYPTION_TYPES)}, got {encryption!r}") from None


def generate_key(encryption: str, rng: random.Random) -> bytes:
    """A new device key, deterministic given ``rng``.

    ``NONE`` gives ``b""``: the SDK reads ``key`` only when it is truthy
    (``base64.b64decode(device["key"]) if device.get("key") else None``), so
    the API should then return no key (null, or omit it).
    """
    n = key_length(encryption)
    return rng.randbytes(n) if n else b""


def period_exponent_of(eid_rotation: dict[str, Any] | None) -> int:
    """The AES-EAX rotation exponent given an ``eid_rotation`` object.

    ``period_exponent`` wins; else ``log2(period_in_seconds)``, which must be
    a power of two; else :data:`DEFAULT_EAX_PERIOD_EXPONENT`.
    """
    rot = eid_rotation or {}
    exp = rot.get("period_exponent")
    if exp is None:
        seconds = rot.get("period_in_seconds")
        if seconds is None:
            return DEFAULT_EAX_PERIOD_EXPONENT
        if (
            isinstance(seconds, bool)
            or not isinstance(seconds, int)
            or seconds <= 0
            or seconds & (seconds - 1)
        ):
            raise ValueError(f"period_in_seconds must be a power of two, got {seconds!r}")
        exp = seconds.bit_length() - 1
    if isinstance(exp, bool) or not isinstance(exp, int) or not 0 <= exp <= MAX_PERIOD_EXPONENT:
        raise ValueError(f"period_exponent must be 0..{MAX_PERIOD_EXPONENT}, got {exp!r}")
    return exp


@dataclass(frozen=True, slots=True)  # one per registered device: no per-instance __dict__
class DeviceKey:
    """What the decoder needs to know about one registered device.

    ``eid_rotation`` is the registration's object as sent by the SDK
    (``counter_source``, ``period_in_seconds`` / ``period_exponent``) or None.
    ``network_id`` (34 bits) only serves ``NONE`` devices, whose unencrypted
    advertisements carry it in clear; the real backend's assignment of network
    ids is not documented, so it is up to the caller.

    ``key_data`` is the raw key, or its base64 text: a registered device passes the text
    its stored record already holds, so 100,000 devices do not keep every key twice.
    ``key`` is always the raw bytes.
    """

    device_id: str
    key_data: bytes | str
    encryption: str
    eid_rotation: dict[str, Any] | None = None
    network_id: int | None = None
    def __post_init__(self) -> None:
        if len(self.key) != key_length(self.encryption):
            raise ValueError(
                f"{self.encryption} needs a {key_length(self.encryption)}-byte key, got {len(self.key)}"
            )
        source = self.counter_source
        if source not in COUNTER_SOURCES:
            raise ValueError(f"counter_source must be one of {list(COUNTER_SOURCES)}, got {source!r}")
        _ = self.period_exponent  # raises for a bad period
        if self.network_id is not None and not 0 <= self.network_id < (1 << _NETWORK_ID_BITS):
            raise ValueError(f"network_id must fit in {_NETWORK_ID_BITS} bits")

    @property
    def key(self) -> bytes:
        data = self.key_data
        return base64.b64decode(data) if isinstance(data, str) else data

    # derived, not stored: one instance per registered device, so every slot counts
    @property
    def counter_source(self) -> str:
        rot = self.eid_rotation or {}
        return rot.get("counter_source") or (DEVICE_UPTIME if self.encryption == AES_128_EAX else UNIX_TIME)

    @property
    def period_exponent(self) -> int | None:
        return period_exponent_of(self.eid_rotation or {}) if self.encryption == AES_128_EAX else None

    def __hash__(self) -> int:  # eid_rotation is a dict, so hash what identifies the key
        return hash((self.device_id, self.key, self.encryption))


@dataclass(frozen=True)
class Decoded:
    """One advertisement attributed to a device.

    ``counter`` is the time counter as the SDK reports it: the Unix day
    (CTR/UNIX_TIME), the pool value 0..127 (CTR/DEVICE_UPTIME) or the pool
    index 0..127 (EAX; the nonce's counter value is ``counter_value``).
    ``sequence_number`` is the 10-bit CTR sequence or the EAX nonce salt.
    ``eid`` is the integer the SDK's parser reports (CTR: ``adv[2:6]``
    big-endian; EAX: ``adv[3:11]`` little-endian). ``NONE`` packets have no
    counter, sequence, EID or tag.
    """

    device_id: str
    encryption: str
    payload: bytes
    counter: int | None
    sequence_number: int | None
    protocol_version: int
    eid: int | None
    auth_tag: bytes | None
    counter_value: int | None = None


# ---------------------------------------------------------------------------
# Primitives (AES from pycryptodome; the constructions mirror the SDK)
# ---------------------------------------------------------------------------


def _kdf(key: bytes, size: int, label: bytes, context: int) -> bytes:
    """SP 800-108 counter-mode KDF with AES-CMAC: ``i(4) | label | 00 | context | L(4)`` per
    block, as the SDK's (pycryptodome's ``SP800_108_Counter``). `cryptography`'s KBKDFCMAC
    builds the same input and is about 20x faster, which matters for DEVICE_UPTIME devices
    (128 counters of two KDFs each per device)."""
    return KBKDFCMAC(
        algorithm=algorithms.AES,
        mode=Mode.CounterMode,
        length=size,
        rlen=4,
        llen=4,
        location=CounterLocation.BeforeFixed,
        label=label,
        context=str(context).encode(),
        fixed=None,
    ).derive(key)


def ctr_eid(key: bytes, counter: int) -> bytes:
    """The 4 EID bytes (``adv[2:6]``) an AES-CTR device sends for ``counter``."""
    return _kdf(_kdf(key, len(key), b"DeviceKey", counter), 4, b"DeviceID", 0)


def _ctr_keys(key: bytes, counter: int, seq_no: int) -> tuple[bytes, bytes]:
    n = len(key)
    enc_key = _kdf(_kdf(key, n, b"EncryptionKey", counter), n, b"Key", seq_no)
    nonce = _kdf(_kdf(key, n, b"NonceKey", counter), _NONCE_SIZE, b"Nonce", seq_no)
    return enc_key, nonce


def _ctr_tag(enc_key: bytes, ciphertext: bytes) -> bytes:
    return CMAC.new(enc_key, ciphertext, ciphermod=AES).digest()[:_TAG_SIZE]


def _eax_key0_block(high: int) -> bytes:
    return b"\x00" * 11 + b"\xff" + b"\x00\x00" + (high & 0xFFFF).to_bytes(2, "big")


def _eax_eid_block(counter_value: int, exponent: int) -> bytes:
    masked = counter_value & ~((1 << exponent) - 1)
    return b"\x00" * 11 + bytes([exponent]) + masked.to_bytes(4, "big")


def eax_eid(key: bytes, counter_value: int, period_exponent: int) -> bytes:
    """The 8 EID bytes (``adv[3:11]``) an AES-EAX device sends for a counter value.

    As the SDK's ``_generate_eid``: ``key_0 = AES(key, 0*11|ff|00 00|counter>>16)``,
    ``eid = AES(key_0, 0*11|exponent|masked counter)[:8]`` read big-endian,
    sent little-endian.
    """
    key0 = AES.new(key, AES.MODE_ECB).encrypt(_eax_key0_block(counter_value >> 16))
    block = AES.new(key0, AES.MODE_ECB).encrypt(_eax_eid_block(counter_value, period_exponent))
    return block[7::-1]


def _eax_pool_eids(key: bytes, exponent: int, indexes: Iterable[int]) -> dict[int, bytes]:
    """EIDs for several pool indexes, sharing one key_0 cipher per 2**16 block."""
    by_high: dict[int, list[int]] = {}
    for i in indexes:
        by_high.setdefault((i << exponent) >> 16, []).append(i)
    ecb = AES.new(key, AES.MODE_ECB)
    out: dict[int, bytes] = {}
    for high, idxs in by_high.items():
        cipher = AES.new(ecb.encrypt(_eax_key0_block(high)), AES.MODE_ECB)
        blocks = cipher.encrypt(b"".join(_eax_eid_block(i << exponent, exponent) for i in idxs))
        for n, i in enumerate(idxs):
            out[i] = blocks[16 * n : 16 * n + 8][::-1]
    return out


# ---------------------------------------------------------------------------
# Encoding (what a device broadcasts)
# ---------------------------------------------------------------------------


def _pool_index(clock: float, period_seconds: int) -> int:
    return (math.floor(clock) // period_seconds) % POOL_SIZE


def counter_for(device: DeviceKey, at_time: float, uptime: float = 0.0) -> int:
    """The counter a device uses at ``at_time`` (Unix seconds).

    CTR/UNIX_TIME: the Unix day. CTR/DEVICE_UPTIME: uptime days mod 128.
    EAX: pool index, ``(clock >> exponent) mod 128`` where clock is the uptime
    (DEVICE_UPTIME) or ``at_time`` (UNIX_TIME).
    """
    if device.encryption in _CTR_TYPES:
        if device.counter_source == UNIX_TIME:
            return math.floor(at_time) // _SECONDS_PER_DAY
        return _pool_index(uptime, _SECONDS_PER_DAY)
    if device.encryption == AES_128_EAX:
        clock = at_time if device.counter_source == UNIX_TIME else uptime
        return _pool_index(clock, 1 << (device.period_exponent or 0))
    raise ValueError(f"{device.encryption} devices have no counter")


def encrypt(
    device: DeviceKey,
    payload: bytes,
    at_time: float,
    sequence_number: int,
    *,
    counter: int | None = None,
    uptime: float = 0.0,
) -> bytes:
    """The service-data bytes ``device`` broadcasts for ``payload``.

    ``sequence_number`` is the 10-bit CTR sequence (0..1023), the 16-bit EAX
    nonce salt (0..65535), and unused for ``NONE``. ``counter`` overrides
    :func:`counter_for` (Unix day, uptime pool value, or EAX pool index).
    """
    payload = bytes(payload)
    if device.encryption in _CTR_TYPES:
        if not 0 <= sequence_number <= MAX_SEQ_NO:
            raise ValueError(f"sequence_number must be 0..{MAX_SEQ_NO} for AES-CTR")
        if len(payload) > MAX_CTR_PAYLOAD:
            raise ValueError(f"AES-CTR payload too long ({len(payload)} > {MAX_CTR_PAYLOAD} bytes)")
        c = counter_for(device, at_time, uptime) if counter is None else counter
        enc_key, nonce = _ctr_keys(device.key, c, sequence_number)
        ciphertext = AES.new(enc_key, AES.MODE_CTR, nonce=nonce).encrypt(payload)
        header = ((PROTOCOL_CTR << 10) | sequence_number).to_bytes(2, "big")
        return header + ctr_eid(device.key, c) + _ctr_tag(enc_key, ciphertext) + ciphertext
    if device.encryption == AES_128_EAX:
        if not 0 <= sequence_number <= 0xFFFF:
            raise ValueError("sequence_number (nonce salt) must be 0..65535 for AES-EAX")
        if len(payload) > MAX_EAX_PAYLOAD:
            raise ValueError(f"AES-EAX payload too long ({len(payload)} > {MAX_EAX_PAYLOAD} bytes)")
        index = counter_for(device, at_time, uptime) if counter is None else counter
        if not 0 <= index < POOL_SIZE:
            raise ValueError(f"AES-EAX counter (pool index) must be 0..{POOL_SIZE - 1}")
        exp = device.period_exponent or 0
        value = index << exp
        salt = sequence_number.to_bytes(2, "big")
        cipher = AES.new(device.key, AES.MODE_EAX, nonce=value.to_bytes(4, "big") + salt, mac_len=_TAG_SIZE)
        ciphertext, tag = cipher.encrypt_and_digest(payload)
        return bytes([PROTOCOL_EAX << 2]) + salt + eax_eid(device.key, value, exp) + ciphertext + tag
    if device.network_id is None:
        raise ValueError("a NONE device needs a network_id to broadcast")
    prefix = (PROTOCOL_UNENCRYPTED << _NETWORK_ID_BITS) | device.network_id
    return prefix.to_bytes(5, "big") + payload


# ---------------------------------------------------------------------------
# Decoding (what the backend does)
# ---------------------------------------------------------------------------

# Table keys: ("day", unix_day) for CTR/UNIX_TIME devices, ("uptime", c) for
# CTR/DEVICE_UPTIME devices, ("eax", exponent, index) for AES-EAX devices.
_TableKey = tuple


def _group_of(device: DeviceKey) -> tuple:
    """The EID tables an encrypted device's advertisements are looked up in (an unencrypted
    device is found by its network id instead, and has none)."""
    if device.encryption in _CTR_TYPES:
        return ("day",) if device.counter_source == UNIX_TIME else ("uptime",)
    if device.encryption == AES_128_EAX:
        return ("eax", device.period_exponent)
    raise ValueError(f"a {device.encryption} device has no EID table group")


class Decoder:
    """Attributes advertisements to devices by EID, then verifies the tag.

    EID tables are built lazily, one per counter, only for the devices that
    can use that counter, and searched most plausible first: for a CTR packet
    the UNIX_TIME days ``D, D-1, D+1, ... D+/-day_window`` around
    ``at_time``'s day D, then the DEVICE_UPTIME pool 0..127; for an EAX packet
    the pool indexes 0..127 of each rotation exponent in use. Pool tables do
    not depend on time and are kept; at most ``max_day_tables`` day tables are
    kept (least recently used go first). ``add``/``remove`` update the tables
    already built. Thread-safe.
    """

    def __init__(
        self,
        devices: Iterable[DeviceKey] = (),
        *,
        day_window: int = DEFAULT_DAY_WINDOW,
        max_day_tables: int = 16,
    ) -> None:
        if day_window < 0:
            raise ValueError("day_window must be >= 0")
        self.day_window = day_window
        self.max_day_tables = max(max_day_tables, 2 * day_window + 1)
        self._lock = threading.RLock()
        self._devices: dict[str, DeviceKey] = {}
        self._groups: dict[tuple, int] = {}  # group -> how many devices (members found by scan)
        self._network_ids: dict[int, list[str]] = {}
        self._tables: dict[_TableKey, dict[bytes, list[str]]] = {}
        self._day_lru: OrderedDict[int, None] = OrderedDict()
        for device in devices:
            self.add(device)

    # -- membership --------------------------------------------------------

    def __len__(self) -> int:
        return len(self._devices)

    def __contains__(self, device_id: object) -> bool:
        return device_id in self._devices

    def __iter__(self) -> Iterator[DeviceKey]:
        return iter(list(self._devices.values()))

    def get(self, device_id: str) -> DeviceKey | None:
        return self._devices.get(device_id)

    def add(self, device: DeviceKey) -> None:
        """Add (or replace) a device; tables already built get its EIDs."""
        with self._lock:
            if device.device_id in self._devices:
                self.remove(device.device_id)
            self._devices[device.device_id] = device
            if device.encryption == NONE:
                if device.network_id is not None:
                    self._network_ids.setdefault(device.network_id, []).append(device.device_id)
                return
            group = _group_of(device)
            self._groups[group] = self._groups.get(group, 0) + 1
            built = [k for k in self._tables if self._group_of_table(k) == group]
            if not built:  # nothing derived yet (a fresh index): no AES work, no import
                return
            if group[0] == "eax":
                eids = _eax_pool_eids(device.key, group[1], [k[2] for k in built])
                for k in built:
                    self._tables[k].setdefault(eids[k[2]], []).append(device.device_id)
            else:
                for k in built:
                    self._tables[k].setdefault(ctr_eid(device.key, k[1]), []).append(device.device_id)

    def remove(self, device_id: str) -> DeviceKey | None:
        """Forget a device; returns it, or None if it was not there."""
        with self._lock:
            device = self._devices.pop(device_id, None)
            if device is None:
                return None
            if device.encryption == NONE:
                if device.network_id is not None:
                    ids = self._network_ids.get(device.network_id, [])
                    if device_id in ids:
                        ids.remove(device_id)
                    if not ids:
                        self._network_ids.pop(device.network_id, None)
                return device
            group = _group_of(device)
            left = self._groups.get(group, 0) - 1
            if left > 0:
                self._groups[group] = left
            else:
                self._groups.pop(group, None)
            for k, table in self._tables.items():
                if self._group_of_table(k) != group:
                    continue
                for eid, ids in list(table.items()):
                    if device_id in ids:
                        ids.remove(device_id)
                        if not ids:
                            del table[eid]
            return device

    # -- tables ------------------------------------------------------------

    @staticmethod
    def _group_of_table(key: _TableKey) -> tuple:
        return (key[0], key[1]) if key[0] == "eax" else (key[0],)

    def _table(self, key: _TableKey) -> dict[bytes, list[str]]:
        table = self._tables.get(key)
        if key[0] == "day":
            if table is not None:
                self._day_lru.move_to_end(key[1])
                return table
        elif table is not None:
            return table
        group = self._group_of_table(key)
        # one scan of the devices instead of a second per-group index of every device
        members = [dev for dev in self._devices.values() if dev.encryption != NONE and _group_of(dev) == group]
        table = {}
        if key[0] == "eax":
            exp, index = key[1], key[2]
            for dev in members:
                eid = _eax_pool_eids(dev.key, exp, [index])[index]
                table.setdefault(eid, []).append(dev.device_id)
        else:
            for dev in members:
                table.setdefault(ctr_eid(dev.key, key[1]), []).append(dev.device_id)
        self._tables[key] = table
        if key[0] == "day":
            self._day_lru[key[1]] = None
            while len(self._day_lru) > self.max_day_tables:
                old, _ = self._day_lru.popitem(last=False)
                self._tables.pop(("day", old), None)
        return table

    def _ctr_candidates(self, at_time: float) -> Iterator[_TableKey]:
        if self._groups.get(("day",)):
            day = math.floor(at_time) // _SECONDS_PER_DAY
            yield ("day", day)
            for d in range(1, self.day_window + 1):
                yield ("day", day - d)
                yield ("day", day + d)
        if self._groups.get(("uptime",)):
            for c in range(POOL_SIZE):
                yield ("uptime", c)

    def _eax_candidates(self) -> Iterator[_TableKey]:
        exps = sorted(g[1] for g, count in self._groups.items() if g[0] == "eax" and count)
        for i in range(POOL_SIZE):
            for exp in exps:
                yield ("eax", exp, i)

    # -- decoding ----------------------------------------------------------

    def decode(self, payload: bytes, at_time: float) -> Decoded | None:
        """Attribute and decrypt one advertisement received at ``at_time``.

        None when it matches no device here (unknown EID, counter outside the
        window, failed auth tag, unknown protocol version, too short).
        """
        data = bytes(payload)
        if not data:
            return None
        version = data[0] >> 2
        with self._lock:
            if version == PROTOCOL_CTR and len(data) >= _CTR_HEADER:
                return self._decode_ctr(data, at_time)
            if version == PROTOCOL_EAX and len(data) >= _EAX_MIN:
                return self._decode_eax(data)
            if version == PROTOCOL_UNENCRYPTED and len(data) >= 5:
                return self._decode_unencrypted(data)
        return None

    def _decode_ctr(self, data: bytes, at_time: float) -> Decoded | None:
        seq_no = int.from_bytes(data[0:2], "big") & MAX_SEQ_NO
        eid, tag, ciphertext = data[2:6], data[6:10], data[10:]
        for key in self._ctr_candidates(at_time):
            for device_id in self._table(key).get(eid, ()):
                device = self._devices[device_id]
                counter = key[1]
                enc_key, nonce = _ctr_keys(device.key, counter, seq_no)
                if _ctr_tag(enc_key, ciphertext) != tag:
                    continue
                plain = AES.new(enc_key, AES.MODE_CTR, nonce=nonce).decrypt(ciphertext)
                return Decoded(
                    device_id=device_id,
                    encryption=device.encryption,
                    payload=plain,
                    counter=counter,
                    sequence_number=seq_no,
                    protocol_version=PROTOCOL_CTR,
                    eid=int.from_bytes(eid, "big"),
                    auth_tag=tag,
                    counter_value=counter,
                )
        return None

    def _decode_eax(self, data: bytes) -> Decoded | None:
        salt, eid, ciphertext, tag = data[1:3], data[3:11], data[11:-_TAG_SIZE], data[-_TAG_SIZE:]
        for key in self._eax_candidates():
            for device_id in self._table(key).get(eid, ()):
                device = self._devices[device_id]
                exp, index = key[1], key[2]
                value = index << exp
                cipher = AES.new(
                    device.key, AES.MODE_EAX, nonce=value.to_bytes(4, "big") + salt, mac_len=_TAG_SIZE
                )
                try:
                    plain = cipher.decrypt_and_verify(ciphertext, tag)
                except ValueError:
                    continue
                return Decoded(
                    device_id=device_id,
                    encryption=device.encryption,
                    payload=plain,
                    counter=index,
                    sequence_number=int.from_bytes(salt, "big"),
                    protocol_version=PROTOCOL_EAX,
                    eid=int.from_bytes(eid, "little"),
                    auth_tag=tag,
                    counter_value=value,
                )
        return None

    def _decode_unencrypted(self, data: bytes) -> Decoded | None:
        network_id = int.from_bytes(data[0:5], "big") & ((1 << _NETWORK_ID_BITS) - 1)
        ids = self._network_ids.get(network_id)
        if not ids:
            return None
        return Decoded(
            device_id=ids[0],
            encryption=NONE,
            payload=data[5:],
            counter=None,
            sequence_number=None,
            protocol_version=PROTOCOL_UNENCRYPTED,
            eid=None,
            auth_tag=None,
        )
