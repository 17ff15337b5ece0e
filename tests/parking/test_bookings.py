"""Reservations are claimed like ticket units: no two overlapping bookings of a space, exactly one winner for
the last one, free again at once when unpaid or refunded, and paid in one order with tickets."""
from datetime import timedelta

import time_machine
from google.cloud.firestore_v1 import FieldFilter

from app.firebase import db
from app.inventory import units
from app.timeutil import utcnow
from tests.factories import race
from tests.parking.conftest import error, evening

ONE_SPACE = {"zones": [{"id": "P1", "kind": "standard", "count": 1}], "spaces": []}


def live_claims(app, lot_id):
    with app.app_context():
        docs = db().collection(units.UNITS).where(filter=FieldFilter("live_until", ">", utcnow())).stream()
        return [d.to_dict() for d in docs if d.get("pool").startswith(f"parking:{lot_id}:")]


def test_drivers_racing_for_the_last_space_get_exactly_one_winner(app, make_garage, make_user):
    garage = make_garage(**ONE_SPACE)
    start = evening()
    quote = garage.fresh_quote(start=start, end=start + timedelta(hours=3))
    drivers = [make_user() for _ in range(6)]
    answers = race(app, [lambda c, d=d: c.post(f"/api/v1/events/{garage.event['id']}/holds", headers=d.headers, json={
        "items": [{"kind": "parking", "quote": quote["quote"]}]}) for d in drivers])
    assert sorted(r.status_code for r in answers) == [201] + [409] * 5
    assert {r.json["error"]["code"] for r in answers if r.status_code == 409} == {"sold_out"}
    claims = live_claims(app, garage.lot["id"])
    assert len(claims) == 12 and {c["unit"] for c in claims} == {"P1-1"} and len({c["hold_id"] for c in claims}) == 1


def test_overlapping_windows_on_one_space_collide_and_adjacent_ones_fit(make_garage, make_user):
    garage = make_garage(**ONE_SPACE)
    six, eight = evening(hour=18), evening(hour=20)
    garage.book(make_user(), start=six, end=eight)
    for start, end in ((eight - timedelta(minutes=15), eight + timedelta(hours=1)),  # the last slot overlaps
                       (six - timedelta(hours=1), six + timedelta(minutes=5)),  # five minutes into the first
                       (six + timedelta(minutes=30), six + timedelta(minutes=45))):  # inside it
        assert error(garage.hold(make_user(), garage.fresh_quote(start=start, end=end))) == (409, "sold_out")
    garage.book(make_user(), start=eight, end=eight + timedelta(hours=2))
    garage.book(make_user(), start=six - timedelta(hours=2), end=six)
    assert garage.availability(**{"from": six.isoformat(), "to": eight.isoformat()})["standard"] == 0
    assert garage.availability(**{"from": (six - timedelta(hours=3)).isoformat(),
                                  "to": (six - timedelta(hours=2)).isoformat()})["standard"] == 1


def test_tickets_and_parking_are_paid_in_one_order(make_garage, make_user):
    garage = make_garage()
    buyer = make_user()
    quote = garage.fresh_quote(start=evening(), end=evening() + timedelta(hours=4))
    hold = garage.hold(buyer, quote, tickets=2)
    assert hold.status_code == 201, hold.json
    tickets, parking = hold.json["items"]
    assert (tickets["kind"], parking["kind"], hold.json["total"]) == ("ticket", "parking", 2 * 2500 + quote["price"])
    order = garage.shop.order(buyer, hold.json["id"]).json
    paid = garage.shop.mark_paid(garage.owner, order["id"]).json
    assert paid["state"] == "paid" and len(paid["tickets"]) == 2
    booked = garage.pass_of(paid, buyer)
    assert (booked["state"], booked["space"], booked["price"]) == ("valid", parking["details"]["space"],
                                                                   quote["price"])
    # Paid means every slot of the window is sold for good: nobody gets the space, even after the deadlines.
    claims = live_claims(garage.app, garage.lot["id"])
    assert len(claims) == 16 and {c["state"] for c in claims} == {"sold"}


def test_a_refund_voids_the_pass_and_frees_every_slot(make_garage, make_user):
    garage = make_garage(**ONE_SPACE)
    buyer = make_user()
    start = evening()
    paid = garage.paid(buyer, start=start, end=start + timedelta(hours=2))
    booked = garage.pass_of(paid, buyer)
    assert error(garage.hold(make_user(), garage.fresh_quote(start=start, end=start + timedelta(hours=2)))) == (
        409, "sold_out")
    refunded = garage.shop.refund(garage.owner, paid["id"], ticket_ids=[booked["id"]])
    assert refunded.status_code == 201, refunded.json
    assert refunded.json["state"] == "refunded" and refunded.json["refunded_amount"] == 600
    assert garage.pass_of(paid, buyer)["state"] == "voided"
    assert live_claims(garage.app, garage.lot["id"]) == []
    garage.book(make_user(), start=start, end=start + timedelta(hours=2))


def test_a_used_pass_is_refunded_only_when_the_organizer_says_so_and_a_cancelled_event_voids_it(make_garage,
                                                                                                 make_user):
    garage = make_garage()
    buyer = make_user()
    paid = garage.paid(buyer)
    booked = garage.pass_of(paid, buyer)
    assert garage.scan("entry", code=booked["code"])["result"] == "ok"
    assert error(garage.shop.refund(garage.owner, paid["id"])) == (409, "checked_in")
    other = garage.paid(make_user())
    cancel = garage.client.post(f"/api/v1/events/{garage.event['id']}/cancel", headers=garage.owner.headers)
    assert cancel.status_code == 200
    for order in (paid, other):
        shown = garage.shop.get(garage.owner, order["id"]).json
        assert shown["state"] == "refunded" and shown["refunds"][0]["reason"] == "event_cancelled"
        assert garage.pass_of(order)["state"] == "voided"
    # The car inside still gets out, without an overstay charge for a booking it no longer has.
    assert garage.scan("exit", code=booked["code"])["result"] == "ok"
    assert garage.scan("entry", code=booked["code"])["result"] == "void"


def test_an_unpaid_reservation_frees_its_space_with_the_scheduler_stopped(app, make_garage, make_user):
    garage = make_garage(**ONE_SPACE)
    start = evening()
    first = garage.book(make_user(), start=start, end=start + timedelta(hours=2))
    assert first["items"][0]["details"]["space"] == "P1-1"
    later = utcnow() + timedelta(seconds=app.config["HOLD_TTL_SECONDS"] + 1)
    with time_machine.travel(later, tick=False):
        assert garage.availability(**{"from": start.isoformat(), "to": (start + timedelta(hours=2)).isoformat()}) == {
            "standard": 1}
        buyer = make_user()
        second = garage.book(buyer, start=start + timedelta(hours=1), end=start + timedelta(hours=3))
        order = garage.shop.order(buyer, second["id"]).json
    # The order's deadline passes unpaid: the space is free again, still with no sweep.
    lapsed = later + timedelta(seconds=app.config["PAYMENT_TTL_SECONDS"] + 1)
    with time_machine.travel(lapsed, tick=False):
        assert garage.shop.get(buyer, order["id"]).json["state"] == "expired"
        third = garage.book(make_user(), start=start, end=start + timedelta(hours=3))
        assert third["items"][0]["details"]["space"] == "P1-1"
        claims = live_claims(garage.app, garage.lot["id"])
        assert len(claims) == 12 and {c["hold_id"] for c in claims} == {third["id"]}


def test_a_hold_of_two_spaces_takes_two_different_ones(make_garage, make_user):
    garage = make_garage(zones=[{"id": "P1", "kind": "standard", "count": 2}])
    quote = garage.fresh_quote(start=evening(), end=evening() + timedelta(hours=1))
    hold = garage.hold(make_user(), quote, quote)
    assert hold.status_code == 201, hold.json
    assert sorted(line["details"]["space"] for line in hold.json["items"]) == ["P1-1", "P1-2"]
    assert error(garage.hold(make_user(), quote)) == (409, "sold_out")
    assert error(garage.hold(make_user(), quote, quote, quote)) == (409, "sold_out")
