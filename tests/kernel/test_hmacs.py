"""kernel.hmacs gives the standard library's HMAC-SHA256 bytes for every key length."""

from __future__ import annotations

import hmac
import random

import pytest

from mockserver.kernel import hmacs
from mockserver.kernel.memo import BoundedDict


@pytest.mark.parametrize("key_length", [0, 1, 16, 32, 63, 64, 65, 100, 1000])
def test_same_bytes_as_hmac_digest(key_length: int) -> None:
    rng = random.Random(key_length)
    key = rng.randbytes(key_length)
    for size in (0, 1, 55, 56, 64, 200, 5000):
        message = rng.randbytes(size)
        assert hmacs.hmac_sha256(key, message) == hmac.digest(key, message, "sha256")
        # asked again: the remembered pads are copied, not consumed
        assert hmacs.hmac_sha256(key, message) == hmac.digest(key, message, "sha256")


def test_keys_are_bounded_and_forgotten_oldest_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hmacs, "_PADS", BoundedDict(hmacs.MAX_KEYS))
    keys = [b"key-%d" % i for i in range(hmacs.MAX_KEYS + 5)]
    for key in keys:
        assert hmacs.hmac_sha256(key, b"m") == hmac.digest(key, b"m", "sha256")
    assert len(hmacs._PADS) == hmacs.MAX_KEYS
    assert keys[0] not in hmacs._PADS and keys[-1] in hmacs._PADS
    assert hmacs.hmac_sha256(keys[0], b"again") == hmac.digest(keys[0], b"again", "sha256")
