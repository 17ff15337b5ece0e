"""Time in one place: aware UTC datetimes, so tests can move the clock, and the IANA zone names."""
import functools
import zoneinfo
from datetime import UTC, datetime


def utcnow():
    return datetime.now(UTC)


@functools.cache
def _time_zones():
    return frozenset(zoneinfo.available_timezones())


def is_time_zone(name):
    return name in _time_zones()


def as_utc(moment):
    """The aware ``moment`` in UTC; ValueError when UTC cannot hold it.

    Python and Firestore both hold 0001-01-01 to 9999-12-31 in UTC, but a time
    near either end, valid in its own offset, can fall outside once converted
    ("9999-12-31T23:00:00-10:00" is in the year 10000).
    """
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValueError("The time is outside the years 1 to 9999 in UTC.") from None
