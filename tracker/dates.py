"""The dates the system accepts, and what a bare date means as a deadline (CONTRACT section 2, v2).

Shared by every input that takes a date or a moment (API fields and filters, web forms): outside
2000-2099 a date is a typo, and at the ends of Python's range (years 1 and 9999) converting between
time zones overflows. A deadline given as a bare date means the end of that day in TIME_ZONE.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from django.utils import timezone

EARLIEST = date(2000, 1, 1)
LATEST = date(2099, 12, 31)
RANGE_TEXT = "between 2000-01-01 and 2099-12-31"
_EARLIEST_MOMENT = datetime.combine(EARLIEST, time.min, tzinfo=UTC)
_END_MOMENT = datetime.combine(date(2100, 1, 1), time.min, tzinfo=UTC)


def date_in_range(day: date) -> bool:
    return EARLIEST <= day <= LATEST


def roughly_in_range(value: date | datetime) -> bool:
    """Whether a date or a (naive or aware) moment is within a day of the range, judged on its own
    calendar date: safe to convert between time zones, before moment_in_range gives the exact answer."""
    day = value.date() if isinstance(value, datetime) else value
    return date(1999, 12, 31) <= day <= date(2100, 1, 1)


def moment_in_range(moment: datetime) -> bool:
    """Whether an aware moment lies in the years 2000-2099 (compared in UTC, so no conversion overflows)."""
    return _EARLIEST_MOMENT <= moment < _END_MOMENT


def end_of_day(day: date) -> datetime:
    """23:59:59 of `day` in TIME_ZONE: what a deadline given as a bare date means."""
    return timezone.make_aware(datetime.combine(day, time(23, 59, 59)), timezone.get_default_timezone())
