"""Hypothesis strategies for the values an API gets wrong: times at the calendar's ends in any offset,
and ids Firestore cannot hold. The fuzz run and the properties share them."""
from datetime import datetime, timedelta, timezone

import hypothesis.strategies as st

FIRST, LAST = datetime(1, 1, 1), datetime(9999, 12, 31, 23, 59, 59, 999999)
# Python's offsets stop a minute short of a day either way.
OFFSETS = st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1).map(
    lambda minutes: timezone(timedelta(minutes=minutes)))
LOCAL_TIMES = st.one_of(
    st.sampled_from([FIRST, FIRST + timedelta(hours=23, minutes=59), LAST, LAST - timedelta(hours=23, minutes=59)]),
    st.datetimes(min_value=FIRST, max_value=LAST))
TIMES = st.builds(lambda local, offset: local.replace(tzinfo=offset), LOCAL_TIMES, OFFSETS)


def _spilling(minutes, beyond, at_the_start):
    """A time valid in its own offset that UTC cannot hold: the calendar's first or last day, offset past it."""
    offset = timedelta(minutes=minutes + beyond)
    if at_the_start:
        return (FIRST + timedelta(minutes=minutes)).replace(tzinfo=timezone(offset))
    return (LAST - timedelta(minutes=minutes)).replace(tzinfo=timezone(-offset))


SPILLING_TIMES = st.builds(_spilling, st.integers(min_value=0, max_value=1000), st.integers(min_value=1, max_value=438),
                           st.booleans())
HOSTILE_IDS = st.one_of(st.sampled_from(["", "/", "a/b", ".", "..", "__x__", "\ud800", "x" * 1600,
                                         "0123456789abcdef0123456789abcdef"]), st.text(max_size=40))


def fits_utc(moment):
    try:
        moment.astimezone(timezone.utc)
    except OverflowError:
        return False
    return True


def at_the_calendars_ends(moment):
    return moment.year in (1, 9999)
