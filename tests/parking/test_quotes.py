"""Prices: the formula's worked example, locked quotes honoured exactly, and stale, forged or misplaced quotes
refused; windows out of bounds answered 422 with nothing written."""
import base64
import json
from datetime import timedelta

import pytest
import time_machine

from app.timeutil import utcnow
from tests.parking.conftest import error, evening


@pytest.fixture
def match_day(make_garage):
    """The README's example: four standard spaces at 3.00 an hour, 19% tax on top, an event from 19:00 to 22:00."""
    starts = evening(hour=19)
    return make_garage(event={"starts_at": starts, "ends_at": starts + timedelta(hours=3)},
                       venue={"tax_rates": {"parking": {"basis_points": 1900, "inclusive": False}}},
                       zones=[{"id": "P1", "kind": "standard", "count": 4}],
                       pricing={"currency": "EUR", "hourly": {"standard": 300, "accessible": 200}, "daily_cap": 2000,
                                "occupancy_bands": [{"from_percent": 60, "multiplier_bp": 12500},
                                                    {"from_percent": 90, "multiplier_bp": 16000}],
                                "event_window_minutes": 120, "event_multiplier_bp": 15000, "floor_bp": 10000,
                                "ceiling_bp": 20000})


def test_the_worked_example_is_quoted_and_charged_exactly(match_day, make_user):
    garage = match_day
    start = evening(hour=18)
    end = start + timedelta(hours=5)
    # Nobody parked yet: 5 hours at 3.00 is 15.00, times the event's demand (x1.5): 22.50, + 19%.
    empty = garage.fresh_quote(start=start, end=end)
    assert (empty["breakdown"]["base"], empty["breakdown"]["multiplier_bp"], empty["price"]) == (1500, 15000, 2250)
    # Three of the four spaces booked for the whole evening, in one hold of three lines: 75% taken.
    others = garage.hold(make_user(), *[empty] * 3)
    assert others.status_code == 201, others.json
    assert len({line["details"]["space"] for line in others.json["items"]}) == 3
    quote = garage.fresh_quote(start=start, end=end)
    assert quote["breakdown"] == {
        "mode": "hourly", "rate": 300, "billed_minutes": 300, "daily_cap": 2000, "base": 1500,
        "occupancy_percent": 75, "occupancy_multiplier_bp": 12500, "event_multiplier_bp": 15000,
        "floor_bp": 10000, "ceiling_bp": 20000, "multiplier_bp": 18750, "price": 2813}
    assert (quote["price"], quote["tax"], quote["total"], quote["currency"]) == (2813, 534, 3347, "EUR")

    buyer = make_user()
    hold = garage.book(buyer, quote, plate="B XY 42")
    [line] = hold["items"]
    assert (line["unit_price"], line["tax"], line["total"], hold["total"]) == (2813, 534, 3347, 3347)
    assert line["details"]["multiplier_bp"] == 18750
    order = garage.shop.order(buyer, hold["id"]).json
    paid = garage.shop.mark_paid(garage.owner, order["id"]).json
    assert paid["total"] == 3347
    booked = garage.pass_of(paid, buyer)
    assert (booked["list_price"], booked["price"], booked["multiplier_bp"], booked["base"]) == (2813, 3347, 18750, 1500)
    # The last space is the only one left; a fifth car finds none.
    assert garage.availability(**{"from": start.isoformat(), "to": end.isoformat()})["standard"] == 0
    assert error(garage.hold(make_user(), quote)) == (409, "sold_out")


def test_a_flat_event_rate_and_the_daily_cap(make_garage):
    starts = evening(hour=19)
    garage = make_garage(event={"starts_at": starts, "ends_at": starts + timedelta(hours=3)},
                         pricing={"currency": "EUR", "hourly": {"standard": 300, "accessible": 200},
                                  "event_flat": {"standard": 1200}, "daily_cap": 2000, "event_window_minutes": 60,
                                  "event_multiplier_bp": 10000})
    flat = garage.fresh_quote(start=starts - timedelta(minutes=30), end=starts + timedelta(hours=4))
    assert (flat["breakdown"]["mode"], flat["price"]) == ("event_flat", 1200)
    # Longer than the event's window: by the hour, and 10 hours at 3.00 stop at the 20.00 cap.
    long = garage.fresh_quote(start=starts - timedelta(hours=5), end=starts + timedelta(hours=5))
    assert (long["breakdown"]["mode"], long["breakdown"]["billed_minutes"], long["price"]) == ("hourly", 600, 2000)
    # A stay that starts and ends inside a slot is billed the whole slot: 7 minutes cost 15.
    short = garage.fresh_quote(start=starts - timedelta(hours=5), end=starts - timedelta(hours=5, minutes=-7))
    assert (short["breakdown"]["billed_minutes"], short["price"]) == (15, 75)


def test_a_stale_quote_is_refused_and_changes_nothing(app, make_garage, make_user, snapshot):
    garage = make_garage()
    quote = garage.fresh_quote(start=evening(), end=evening() + timedelta(hours=2))
    buyer = make_user()
    before = snapshot()
    later = utcnow() + timedelta(seconds=app.config["PARKING_QUOTE_TTL_SECONDS"] + 1)
    with time_machine.travel(later, tick=False):
        assert error(garage.hold(buyer, quote)) == (409, "quote_expired")
    assert snapshot() == before
    fresh = garage.fresh_quote(start=evening(), end=evening() + timedelta(hours=2))
    assert garage.hold(buyer, fresh).status_code == 201


def _tampered(token, **changes):
    body, mac = token.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    forged = base64.urlsafe_b64encode(json.dumps({**payload, **changes}).encode()).decode().rstrip("=")
    return f"{forged}.{mac}"


def test_tampered_forged_and_misplaced_quotes_are_refused(make_garage, make_user, make_event, snapshot):
    garage = make_garage()
    quote = garage.fresh_quote(start=evening(), end=evening() + timedelta(hours=2))
    other_event = make_event(garage.owner)
    buyer = make_user()
    before = snapshot()
    for forged in (_tampered(quote["quote"], price=1), _tampered(quote["quote"], exp=quote["expires_at"]),
                   _tampered(quote["quote"], kind="accessible"), quote["quote"][:-2] + "AA", "not.a-quote", "x" * 80):
        assert error(garage.hold(buyer, {"quote": forged})) == (422, "quote_invalid"), forged
    # A genuine quote for another event is not this event's.
    elsewhere = garage.fresh_quote(start=evening(), end=evening() + timedelta(hours=2))
    response = garage.client.post(f"/api/v1/events/{other_event['id']}/holds", headers=buyer.headers,
                                  json={"items": [{"kind": "parking", "quote": elsewhere["quote"]}]})
    assert error(response) == (422, "quote_invalid")
    assert snapshot() == before


@pytest.mark.parametrize("field, start, end", [
    ("to", evening(), evening() - timedelta(minutes=15)),
    ("to", evening(), evening()),
    ("to", evening(), evening() + timedelta(days=3 * 365)),
    ("to", evening(), evening() + timedelta(hours=25)),
    ("from", evening(days=-1), evening(days=-1) + timedelta(hours=2)),
    ("from", evening(days=500), evening(days=500) + timedelta(hours=2)),
])
def test_windows_out_of_bounds_are_refused_with_nothing_changed(make_garage, snapshot, field, start, end):
    garage = make_garage()
    before = snapshot()
    response = garage.quote(start=start, end=end)
    assert error(response) == (422, "validation_error") and field in response.json["error"]["details"]["fields"]
    assert snapshot() == before


def test_a_quote_outside_opening_hours_or_for_a_closed_lot_is_refused(make_garage):
    garage = make_garage(opening_hours={"opens": "07:00", "closes": "01:00"})
    # 07:00 to 01:00 in Berlin is 06:00 (or 05:00) to 00:00 (or 23:00) UTC: a window at 02:00 UTC is closed.
    night = evening(hour=2)
    assert error(garage.quote(start=night, end=night + timedelta(hours=1))) == (422, "outside_opening_hours")
    assert garage.quote(start=evening(hour=12), end=evening(hour=14)).status_code == 200
    assert error(garage.quote(start=evening(hour=20), end=evening(hour=20) + timedelta(hours=6))) == (
        422, "outside_opening_hours")
    garage.client.patch(garage.path, json={"active": False}, headers=garage.owner.headers)
    assert error(garage.quote(start=evening(hour=12), end=evening(hour=14))) == (404, "not_found")
    assert error(garage.quote(start=evening(hour=12), end=evening(hour=14), user=garage.owner)) == (409, "lot_inactive")
