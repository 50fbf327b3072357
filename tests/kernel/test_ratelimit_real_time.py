"""The limiter's two clocks (issue 12, items 2-4): real time drains the buckets, a forward
move of the sandbox clock drains them too, a backward move never refills them, and a
refusal reports the bucket that refused."""

from __future__ import annotations

from mockserver.kernel.clock import Clock
from mockserver.kernel.ratelimit import Limit, RateLimiter

ENDPOINT, ORG = Limit(3, 3.0), Limit(15, 15.0)


def make() -> tuple[RateLimiter, Clock, list[float]]:
    real = [500.0]
    clock = Clock("frozen", start=10_000.0)
    return RateLimiter(clock, monotonic=lambda: real[0], wall=lambda: 1_640_000_000.0 + real[0]), clock, real


def test_real_time_and_forward_clock_moves_drain_backward_moves_do_not_refill() -> None:
    limiter, clock, real = make()
    bucket = [("e", ENDPOINT)]
    assert [limiter.check(bucket).allowed for _ in range(4)] == [True, True, True, False]
    real[0] += 1 / 3  # a third of a real second: room for one
    assert limiter.check(bucket).allowed is True and limiter.check(bucket).allowed is False
    clock._jump(clock.now() + 1)  # the sandbox clock moves a second: full allowance again
    assert [limiter.check(bucket).allowed for _ in range(4)] == [True, True, True, False]
    clock._jump(clock.now() - 3600)  # back an hour: still full, not emptied
    assert limiter.check(bucket).allowed is False


def test_a_refusal_reports_the_bucket_that_refused_and_reset_is_unix_time() -> None:
    limiter, _clock, real = make()
    for i in range(15):
        assert limiter.check([(f"e{i // 3}", ENDPOINT), ("org", ORG)]).allowed
    refused = limiter.check([("fresh", ENDPOINT), ("org", ORG)])
    assert (refused.allowed, refused.limit, refused.remaining, refused.retry_after) == (False, 15, 0, 1)
    assert refused.reset == 1_640_000_000 + 500 + 1  # 15 queued at 15/s: empty one second from now
    passed = limiter.check([("other", ENDPOINT)])
    assert (passed.limit, passed.remaining) == (3, 2)
