"""Parking prices: the formula, quotes that lock it for a while, and the charges of stays.

In integer minor units and basis points (10 000 = ×1), rounded half up:

    base        hourly: the kind's hourly rate × billed minutes / 60, per 24 hours of the window, each day
                capped at daily_cap; billed minutes are whole slots, rounded up.
                flat: the kind's event_flat rate, for a booking for an event that fits inside the event's
                window (its start - event_window_minutes to its end + event_window_minutes).
    occupancy   the share of the kind's spaces already taken (held, sold, parked in) when the window starts
    multiplier  clamp(floor_bp, ceiling_bp, band(occupancy) × demand)
                band: the multiplier of the highest occupancy band reached (×1 below the first);
                demand: event_multiplier_bp when the booking's event at the venue overlaps the window
                widened by event_window_minutes on both sides, else ×1.
    price       base × multiplier

A quote signs its price with the lot, kind, window, event, multiplier and an
expiry (``PARKING_QUOTE_TTL_SECONDS``): a hold's parking line carries it, and
the buyer is charged exactly that price (tax per the venue's rate for
``parking``, and a discount code if they have one). An expired or altered
quote is refused.

A drive-up stay is charged at exit for the time it lasted, at the multiplier
locked when it started; an overstay past a booking's end (beyond the lot's
``overstay_grace_minutes``) at the booking's multiplier × ``overstay_multiplier_bp``.
"""
from datetime import UTC, datetime, timedelta

from flask import current_app

from app.checkout.pricing import BASIS, half_up, line_tax
from app.errors import AppError, field_error
from app.events import service as events
from app.parking import codes, lots, windows
from app.parking.occupancy import Span, occupancy_percent
from app.timeutil import utcnow
from app.venues import service as venues

TAX_CATEGORY = "parking"
DAY_MINUTES = 24 * 60


def hourly_base(pricing, kind, minutes, slot_minutes):
    """The kind's hourly rate for ``minutes`` billed in whole slots, each 24 hours capped at ``daily_cap``."""
    rate, cap, left, base = pricing["hourly"][kind], pricing["daily_cap"], windows.billed_minutes(minutes,
                                                                                                   slot_minutes), 0
    while left > 0:
        day = min(left, DAY_MINUTES)
        part = half_up(rate * day, 60)
        base += part if cap is None else min(part, cap)
        left -= day
    return base


def band_bp(pricing, occupancy):
    reached = [band for band in pricing["occupancy_bands"] if band["from_percent"] <= occupancy]
    return max(reached, key=lambda band: band["from_percent"])["multiplier_bp"] if reached else BASIS


def event_window(pricing, event):
    margin = timedelta(minutes=pricing["event_window_minutes"])
    return event["starts_at"] - margin, event["ends_at"] + margin


def demand_applies(pricing, event, window):
    if event is None:
        return False
    starts, ends = event_window(pricing, event)
    return window.starts_at < ends and starts < window.ends_at


def multiplier(pricing, occupancy, demand):
    """(band, demand, applied) in basis points."""
    band = band_bp(pricing, occupancy)
    event = pricing["event_multiplier_bp"] if demand else BASIS
    applied = min(max(half_up(band * event, BASIS), pricing["floor_bp"]), pricing["ceiling_bp"])
    return band, event, applied


def charge(base, multiplier_bp):
    return half_up(base * multiplier_bp, BASIS)


def _iso(moment):
    return moment.astimezone(UTC).isoformat()


def booking_event(lot, event_id):
    """The published event at the lot's venue a car parks for (None for none); 422 or 409 otherwise."""
    if event_id is None:
        return None
    try:
        event = events.get_event(event_id)
    except AppError:
        raise field_error("event_id", "No such event.") from None
    if event["venue_id"] != lot["venue_id"]:
        raise field_error("event_id", "The event is at another venue than the lot.")
    if event["status"] != events.EventStatus.PUBLISHED:
        raise AppError("event_not_on_sale", f"The event is {event['status']}.", details={"status": event["status"]})
    return event


def price_window(lot, kind, window, event, now):
    """The price of a booking of one ``kind`` space in ``window`` for ``event`` (or None), as of ``now``."""
    pricing = lot["pricing"]
    occupancy = occupancy_percent(Span.of(lot, kind, window), now)
    demand = demand_applies(pricing, event, window)
    band, event_bp, applied = multiplier(pricing, occupancy, demand)
    flat = pricing["event_flat"].get(kind)
    inside = event is not None and event_window(pricing, event)[0] <= window.starts_at \
        and window.ends_at <= event_window(pricing, event)[1]
    if flat is not None and inside:
        mode, base = "event_flat", flat
    else:
        mode, base = "hourly", hourly_base(pricing, kind, window.minutes, lot["slot_minutes"])
    return {"mode": mode, "rate": flat if mode == "event_flat" else pricing["hourly"][kind],
            "billed_minutes": windows.billed_minutes(window.minutes, lot["slot_minutes"]),
            "daily_cap": pricing["daily_cap"], "base": base, "occupancy_percent": occupancy,
            "occupancy_multiplier_bp": band, "event_multiplier_bp": event_bp, "floor_bp": pricing["floor_bp"],
            "ceiling_bp": pricing["ceiling_bp"], "multiplier_bp": applied, "price": charge(base, applied)}


def quote(lot_id, *, kind, starts_at, ends_at, event_id=None, viewer=None):
    """A signed quote for one space of ``kind`` in the window, locked for PARKING_QUOTE_TTL_SECONDS."""
    lot = lots.visible_lot(lot_id, viewer)
    if not lot["active"]:
        raise AppError("lot_inactive", details={"lot_id": lot_id})
    if kind not in lots.kinds_of(lot):
        raise field_error("kind", f"The lot has no {kind} spaces.")
    now = utcnow()
    window = windows.window(starts_at, ends_at, now, lot["slot_minutes"])
    windows.require_open(lot, window)
    event = booking_event(lot, event_id)
    breakdown = price_window(lot, kind, window, event, now)
    price, currency = breakdown["price"], lot["pricing"]["currency"]
    rate = (venues.get_venue(lot["venue_id"]).get("tax_rates") or {}).get(TAX_CATEGORY)
    tax, on_top = line_tax(price, rate)
    expires_at = (now + timedelta(seconds=current_app.config["PARKING_QUOTE_TTL_SECONDS"])).replace(microsecond=0)
    token = codes.sign("quote", {"lot": lot_id, "kind": kind, "from": _iso(window.starts_at),
                                 "to": _iso(window.ends_at), "event": event_id, "price": price, "cur": currency,
                                 "base": breakdown["base"], "mult": breakdown["multiplier_bp"],
                                 "exp": int(expires_at.timestamp())})
    return {"quote": token, "lot_id": lot_id, "kind": kind, "from": window.starts_at, "to": window.ends_at,
            "event_id": event_id, "currency": currency, "price": price, "tax": tax,
            "tax_inclusive": bool(rate and rate["inclusive"]), "total": price + on_top, "expires_at": expires_at,
            "breakdown": breakdown}


def read_quote(token, now):
    """The terms of a quote this deployment signed and that has not expired; 422 ``quote_invalid`` for one
    that is malformed or altered, 409 ``quote_expired`` for one past its lock."""
    try:
        terms = codes.verify("quote", token)
        terms = {**terms, "from": datetime.fromisoformat(terms["from"]), "to": datetime.fromisoformat(terms["to"]),
                 "expires_at": datetime.fromtimestamp(terms["exp"], UTC)}
    except (codes.InvalidCode, KeyError, TypeError, ValueError):
        raise AppError("quote_invalid") from None
    if terms["expires_at"] <= now:
        raise AppError("quote_expired", details={"expired_at": terms["expires_at"].isoformat()})
    return terms


def drive_up_charge(lot, kind, minutes, multiplier_bp):
    """A drive-up stay of ``minutes``, at the hourly rate and the multiplier locked when it started."""
    return charge(hourly_base(lot["pricing"], kind, minutes, lot["slot_minutes"]), multiplier_bp)


def overstay_charge(lot, kind, minutes, multiplier_bp):
    """(charge, applied multiplier) of ``minutes`` past a booking's end: nothing within the grace period, else
    all of it at the booking's multiplier × the lot's overstay multiplier."""
    pricing = lot["pricing"]
    applied = half_up(multiplier_bp * pricing["overstay_multiplier_bp"], BASIS)
    if minutes <= pricing["overstay_grace_minutes"]:
        return 0, applied
    return charge(hourly_base(pricing, kind, minutes, lot["slot_minutes"]), applied), applied


def sign_charge(session):
    return codes.sign("charge", {"session": session["id"], "price": session["charge"], "cur": session["currency"],
                                 "event": session["event_id"]})


def read_charge(token):
    try:
        terms = codes.verify("charge", token)
        return {"session": str(terms["session"]), "price": int(terms["price"]), "cur": str(terms["cur"]),
                "event": terms["event"]}
    except (codes.InvalidCode, KeyError, TypeError, ValueError):
        raise AppError("charge_invalid") from None
