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
