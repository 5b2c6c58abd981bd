"""The rate limiter, the Last-Modified rule and the prefix setting, as plain functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sirena.web.compat_access import RateLimiter, prefix
from sirena.web.compat_view import last_modified


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_rate_limiter_allows_a_minute_of_requests_then_refills() -> None:
    ticks = Ticks()
    limiter = RateLimiter(3, clock=ticks)
    assert [limiter.check("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.check("a") == pytest.approx(20.0)
    assert limiter.check("b") == 0.0  # every caller has its own bucket
    ticks.now += 20
    assert limiter.check("a") == 0.0
    assert limiter.check("a") > 0


def test_rate_limiter_forgets_refilled_callers_beyond_its_bound() -> None:
    ticks = Ticks()
    limiter = RateLimiter(60, max_keys=10, clock=ticks)
    for i in range(10):
        limiter.check(f"k{i}")
    assert len(limiter) == 10
    ticks.now += 5  # the first ten have refilled
    limiter.check("busy")  # the eleventh caller: full buckets are dropped
    assert len(limiter) == 1
    assert limiter.check("k0") == 0.0  # a forgotten caller starts again with a full bucket


def test_last_modified_is_one_second_early_and_not_final_during_the_change_second() -> None:
    change = datetime(2026, 10, 13, 7, 36, 50, 400_000, tzinfo=UTC)
    label, final = last_modified(change, change + timedelta(milliseconds=300))
    assert (label, final) == (datetime(2026, 10, 13, 7, 36, 49, tzinfo=UTC), False)
    label, final = last_modified(change, change + timedelta(milliseconds=700))
    assert (label, final) == (datetime(2026, 10, 13, 7, 36, 50, tzinfo=UTC), True)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("/compat/alerts-in-ua", "/compat/alerts-in-ua"), ("compat/x/", "/compat/x"), ("", ""), ("/", "")],
)
def test_prefix_setting(value: str, expected: str) -> None:
    assert prefix(value) == expected
