"""What the request path computes once and reuses must equal what it computed each time:
request ids, continuation tokens, the journal's byte count, options read from settings."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid

import orjson

from mockserver import apis
from mockserver.kernel.clock import Clock
from mockserver.kernel.journal import Journal
from mockserver.kernel.pagination import TokenCodec
from mockserver.kernel.ratelimit import Limit, RateLimiter
from mockserver.kernel.runtime import Runtime
from mockserver.settings import Option, Settings, api_options


def _reference_id(seed: int, n: int) -> str:
    digest = hashlib.sha256(f"{seed}:request:{n}".encode()).digest()[:16]
    return str(uuid.UUID(bytes=digest, version=4))


def test_request_ids_are_the_seeded_sequence() -> None:
    runtime = Runtime(Settings(seed=7, scenario=None))
    count = 515
    assert [runtime.next_request_id() for _ in range(count)] == [_reference_id(7, n) for n in range(1, count + 1)]


def _reference_token(key: bytes, payload: dict, exp: float) -> str:
    raw = base64.urlsafe_b64encode(orjson.dumps(dict(payload, exp=exp))).rstrip(b"=")
    mac = hmac.digest(key, raw, "sha256")[:16]
    return raw.decode() + "." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def test_a_repeated_token_is_the_token_made_afresh() -> None:
    keys = [b"k" * 32]
    clock = Clock("frozen", 1_700_000_000.0)
    codec = TokenCodec(lambda: keys[0], clock, ttl_seconds=60.0)
    payload = {"org": "o", "c": [1, "a"]}
    first = codec.encode(payload)
    assert first == codec.encode(dict(payload)) == _reference_token(keys[0], payload, 1_700_000_060.0)
    assert codec.decode(first) == payload
    other = {"org": "o", "c": [2, "a"]}
    assert codec.encode(other) == _reference_token(keys[0], other, 1_700_000_060.0)
    clock._jump(1_700_000_000.0004)  # expiry to the millisecond, never rounded further
    assert codec.encode(payload) == _reference_token(keys[0], payload, 1_700_000_060.0)
    clock._jump(1_700_000_000.0016)
    assert codec.encode(payload) == _reference_token(keys[0], payload, 1_700_000_060.002)
    keys[0] = b"j" * 32  # a new key (a restore): a new signature
    assert codec.encode(payload) == _reference_token(keys[0], payload, 1_700_000_060.002)
    for odd in ({}, {"exp": 1, "a": [1.5, None, True]}, {"a": {"exp": 2}, "é": "ü"}):
        assert codec.encode(odd) == _reference_token(keys[0], odd, 1_700_000_060.002)


def test_journal_bytes_count_an_entry_until_both_rings_let_go() -> None:
    journal = Journal(limit=2, violation_limit=3)
    bad = {"api": "x", "path": "/bad", "query": "", "violations": [{"location": "body", "message": "bad"}]}
    journal.record(dict(bad))
    size = journal.bytes
    journal.record({"api": "x", "path": "/a", "query": ""})
    journal.record({"api": "x", "path": "/b", "query": ""})  # the main ring lets the bad one go
    assert len(journal) == 2 and journal.entries(violations=True)[0]["path"] == "/bad"
    ok_bytes = sum(e["_bytes"] for e in journal._entries)
    assert journal.bytes == size + ok_bytes
    for _ in range(3):
        journal.record(dict(bad))  # and now the violations ring lets it go too
    held = {id(e): e for e in [*journal._entries, *journal._violations]}
    assert journal.bytes == sum(e["_bytes"] for e in held.values())


def test_an_option_set_at_run_time_is_read_back(monkeypatch) -> None:  # noqa: ANN001
    settings = Settings()
    assert settings.hubby_signature_window == 300.0
    settings.hubby_signature_window = 5.0
    assert settings.hubby_signature_window == 5.0
    extra = apis.REGISTRY[0].__class__(**{**apis.REGISTRY[0].__dict__, "name": "extra", "options": (Option("extra_knob", "X_KNOB", 3),)})
    monkeypatch.setattr(apis, "REGISTRY", (*apis.REGISTRY, extra))
    assert "extra_knob" in api_options() and Settings().extra_knob == 3
    monkeypatch.undo()
    assert "extra_knob" not in api_options()


def test_limits_off_answer_the_current_reset_second_and_capacity() -> None:
    wall = [1_700_000_000.2]
    limiter = RateLimiter(Clock("frozen", 0.0), enabled=False, wall=lambda: wall[0])
    small, big = [("a", Limit(3, 3.0))], [("b", Limit(15, 15.0))]
    assert limiter.check(small).headers() == {"X-RateLimit-Limit": "3", "X-RateLimit-Remaining": "3", "X-RateLimit-Reset": "1700000001"}
    assert limiter.check(big).headers()["X-RateLimit-Limit"] == "15"
    wall[0] = 1_700_000_001.5
    assert limiter.check(big).headers()["X-RateLimit-Reset"] == "1700000002"
    limiter.enabled = True
    assert limiter.check(small).headers()["X-RateLimit-Remaining"] == "2"


def test_a_refusal_reports_the_bucket_that_waits_longest() -> None:
    mono, wall = [100.0], [1_700_000_000.0]
    limiter = RateLimiter(Clock("frozen", 0.0), monotonic=lambda: mono[0], wall=lambda: wall[0])
    fast, slow = Limit(2, 2.0), Limit(2, 0.5)
    buckets = [("fast", fast), ("slow", slow)]
    assert [limiter.check(buckets).allowed for _ in range(3)] == [True, True, False]
    refused = limiter.check(buckets)
    assert (refused.limit, refused.retry_after, refused.reset) == (2, 2, 1_700_000_004)  # the slow bucket
    twins = [("a", Limit(1, 1.0)), ("b", Limit(1, 1.0))]
    limiter.check(twins)
    again = limiter.check(twins)
    assert not again.allowed and again.retry_after == 1 and again.remaining == 0
