"""Time in one place: aware UTC datetimes, so tests can move the clock."""
from datetime import UTC, datetime


def utcnow():
    return datetime.now(UTC)
