"""Time formats Hubby uses: ISO 8601 timestamps in UTC, and partner departure dates that
may be a date, a date-time, or a date-time with an offset."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from functools import lru_cache

DAY = 86400.0
HOUR = 3600.0

_ISO = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?:T(?P<h>\d{2}):(?P<m>\d{2})(?::(?P<s>\d{2})(?:\.(?P<frac>\d+))?)?"
    r"(?P<tz>Z|[+-]\d{2}:?\d{2})?)?$"
)


def iso(ts: float | None) -> str | None:
    """Clock seconds -> "2026-07-15T12:30:00Z" (None stays None)."""
    if ts is None:
        return None
    return _iso_seconds(int(ts))


@lru_cache(maxsize=8192)  # a booking view formats a dozen stored instants, the same on every read
def _iso_seconds(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Departure:
    """A parsed departure (or return) date as the partner sent it."""

    raw: str
    ts: float  # start of the day (UTC) for a date; the instant for a date-time (naive = UTC)
    has_time: bool
    has_offset: bool
    offset_minutes: int = 0

    @property
    def precise(self) -> bool:
        """A time and an offset: only then can `booking.about_to_depart` fire."""
        return self.has_time and self.has_offset

    @property
    def past_after(self) -> float:
        """When the departure counts as in the past (a date: at the end of that day)."""
        return self.ts + DAY if not self.has_time else self.ts

    def as_datetime_string(self) -> str:
        """The departure as an ISO date-time with offset (webhook payloads need one).

        A date becomes midnight UTC; a naive time is read as UTC. Normalised to RFC 3339
        (seconds, "+02:00"), keeping the partner's offset."""
        if self.precise and self.offset_minutes:
            tz = timezone(timedelta(minutes=self.offset_minutes))
            return datetime.fromtimestamp(int(self.ts), tz).isoformat(timespec="seconds")
        return iso(self.ts) or ""


def parse_iso(value: str) -> Departure:
    """Parse a departure/return value; ValueError with a readable reason when invalid."""
    m = _ISO.match(value or "")
    if m is None:
        raise ValueError("must be an ISO 8601 date or date-time")
    try:
        day = date.fromisoformat(m.group("date"))
    except ValueError:
        raise ValueError(f"{m.group('date')} is not a calendar date") from None
    if m.group("h") is None:
        ts = datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
        return Departure(value, ts, False, False)
    hour, minute, second = int(m.group("h")), int(m.group("m")), int(m.group("s") or 0)
    if hour > 23 or minute > 59 or second > 59:
        raise ValueError(f"{hour:02d}:{minute:02d}:{second:02d} is not a time of day")
    tz_raw = m.group("tz")
    tz = UTC
    offset_minutes = 0
    if tz_raw and tz_raw != "Z":
        sign = 1 if tz_raw[0] == "+" else -1
        digits = tz_raw[1:].replace(":", "")
        oh, om = int(digits[:2]), int(digits[2:])
        if oh > 23 or om > 59:
            raise ValueError(f"{tz_raw} is not a UTC offset")
        offset_minutes = sign * (oh * 60 + om)
        tz = timezone(timedelta(minutes=offset_minutes))
    frac = float(f"0.{m.group('frac')}") if m.group("frac") else 0.0
    moment = datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=tz)
    return Departure(value, moment.timestamp() + frac, True, tz_raw is not None, offset_minutes)


def relative_departure(now: float, spec: str | int | float | dict, *, offset: str = "+00:00", date_only: bool = False) -> str:
    """A departure relative to the clock, for scenario files: "3d", "2h", "3d2h30m", 5 (days)
    or {"days": 3, "hours": 2}; rendered with `offset`, or as a plain date."""
    if isinstance(spec, int | float) and not isinstance(spec, bool):
        seconds = float(spec) * DAY
    elif isinstance(spec, dict):
        seconds = float(spec.get("days", 0)) * DAY + float(spec.get("hours", 0)) * HOUR + float(spec.get("minutes", 0)) * 60
    else:
        m = re.fullmatch(r"\s*(?:(-?\d+)d)?\s*(?:(-?\d+)h)?\s*(?:(-?\d+)m)?\s*", str(spec))
        if m is None or not any(m.groups()):
            raise ValueError(f"not a relative time: {spec!r} (use e.g. '3d', '2h', '3d2h30m')")
        d, h, mi = (int(g) if g else 0 for g in m.groups())
        seconds = d * DAY + h * HOUR + mi * 60
    sign = 1 if offset[0] == "+" else -1
    oh, om = int(offset[1:3]), int(offset[-2:])
    tz = timezone(sign * timedelta(hours=oh, minutes=om))
    moment = datetime.fromtimestamp(int(now + seconds), tz)
    if date_only:
        return moment.date().isoformat()
    return moment.isoformat()
