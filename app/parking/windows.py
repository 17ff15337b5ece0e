"""Time at a lot: booking windows, the time slots a window claims, and opening hours.

A lot sells each space by *slot* (``slot_minutes``: 15, 30 or 60, aligned to
the hour in UTC). A window claims every slot it touches, so a booking from
18:05 to 20:00 on a 15-minute lot claims the slots 18:00 to 19:45 of one
space: two bookings whose windows overlap by a minute meet in a slot and one
of them must take another space. Windows are bounded (``PARKING_MAX_WINDOW_HOURS``,
by default 24 h, so at most 96 claims at 15 minutes) so that a booking stays
far inside Firestore's 500 writes per commit and the checkout's 200 claims per
hold.

Opening hours are local times in the lot's time zone (``{"opens": "06:00",
"closes": "01:00"}``: a closing time at or before the opening time is the next
day's), or none for a lot open round the clock. A window must fit inside one
opening period.
"""
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app

from app.errors import AppError, field_error

EPOCH = datetime(2000, 1, 1, tzinfo=ZoneInfo("UTC"))


@dataclass(frozen=True)
class Window:
    starts_at: datetime
    ends_at: datetime

    @property
    def minutes(self):
        return (self.ends_at - self.starts_at) / timedelta(minutes=1)


def floor_slot(moment, slot_minutes):
    step = timedelta(minutes=slot_minutes)
    return EPOCH + ((moment - EPOCH) // step) * step


def slots(window, slot_minutes):
    """Start times of the slots the window touches, in order."""
    step = timedelta(minutes=slot_minutes)
    at, found = floor_slot(window.starts_at, slot_minutes), []
    while at < window.ends_at:
        found.append(at)
        at += step
    return found


def slot_key(moment):
    return moment.astimezone(EPOCH.tzinfo).strftime("%Y%m%dT%H%MZ")


def billed_minutes(minutes, slot_minutes):
    """Minutes charged for a stay: whole slots, rounded up (a stay of no time costs nothing)."""
    return -(-int(max(0, minutes * 60)) // (slot_minutes * 60)) * slot_minutes


def _parse_clock(text):
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def opening_period(lot, moment):
    """(opens_at, closes_at) of the opening period that contains ``moment``, (None, None) at a lot without
    opening hours (always open); 422 ``outside_opening_hours`` when the lot is closed then."""
    hours = lot.get("opening_hours")
    if not hours:
        return None, None
    zone = ZoneInfo(lot["timezone"])
    local = moment.astimezone(zone)
    opens, closes = _parse_clock(hours["opens"]), _parse_clock(hours["closes"])
    for day in (local.date() - timedelta(days=1), local.date()):
        opens_at = datetime.combine(day, opens, zone)
        closes_at = datetime.combine(day + timedelta(days=1) if closes <= opens else day, closes, zone)
        if opens_at <= moment < closes_at:
            return opens_at, closes_at
    raise AppError("outside_opening_hours", f"The lot is closed at {local:%H:%M} ({lot['timezone']}).",
                   details={"opening_hours": hours, "timezone": lot["timezone"]})


def require_open(lot, window):
    """The window fits inside one opening period of the lot; 422 ``outside_opening_hours`` otherwise."""
    opens_at, closes_at = opening_period(lot, window.starts_at)
    if closes_at is not None and window.ends_at > closes_at:
        raise AppError("outside_opening_hours", f"The lot closes at {closes_at:%H:%M} ({lot['timezone']}).",
                       details={"opening_hours": lot["opening_hours"], "timezone": lot["timezone"],
                                "closes_at": closes_at.isoformat()})


def window(starts_at, ends_at, now, slot_minutes):
    """A window that ends after it starts, is not over, has not started before the current slot, starts within
    the booking horizon and is at most ``PARKING_MAX_WINDOW_HOURS`` long; 422 naming the field otherwise."""
    cfg = current_app.config
    if ends_at <= starts_at:
        raise field_error("to", "The window must end after it starts.")
    if ends_at - starts_at > timedelta(hours=cfg["PARKING_MAX_WINDOW_HOURS"]):
        raise field_error("to", f"A window is at most {cfg['PARKING_MAX_WINDOW_HOURS']} hours long.")
    if starts_at < floor_slot(now, slot_minutes):
        raise field_error("from", "The window has already started.")
    if starts_at > now + timedelta(days=cfg["PARKING_BOOKING_HORIZON_DAYS"]):
        raise field_error("from", f"Windows start within {cfg['PARKING_BOOKING_HORIZON_DAYS']} days.")
    return Window(starts_at, ends_at)
