"""Entry and exit: passes and plates scanned by attendants, drive-up sessions charged for the time they stayed,
overstays charged by the lot's rule, and every charge paid through the checkout."""
from datetime import datetime, timedelta

import time_machine

from app.events import lifecycle
from app.parking import sessions
from app.timeutil import utcnow
from tests.factories import current, race
from tests.parking.conftest import error, evening, slot_start

ONE_SPACE = {"zones": [{"id": "P1", "kind": "standard", "count": 1}], "spaces": []}


def at(text):
    return datetime.fromisoformat(text)


def start_session(garage, plate="M-XY 1", user=None, **body):
    return garage.client.post(f"{garage.path}/sessions", headers=(user or garage.staff).headers,
                              json={"plate": plate, "event_id": garage.event["id"], **body})


def settle(garage, session_id, method="manual", user=None):
    return garage.client.post(f"/api/v1/parking-sessions/{session_id}/settlement", json={"payment_method": method},
                              headers=(user or garage.staff).headers)


def test_a_pass_enters_once_per_booking_and_a_repeated_nonce_gets_the_first_answer(make_garage, make_user):
    garage = make_garage()
    buyer = make_user()
    booked = garage.pass_of(garage.paid(buyer, plate="B-AB 12"), buyer)
    first = garage.scan("entry", code=booked["code"], nonce="gate-one-0001")
    assert (first["result"], first["pass"]["space"], first["replayed"]) == ("ok", booked["space"], False)
    assert garage.scan("entry", code=booked["code"], nonce="gate-one-0001")["replayed"] is True
    assert garage.scan("entry", code=booked["code"])["result"] == "already_inside"
    assert garage.scan("exit", code=booked["code"])["result"] == "ok"
    assert garage.scan("exit", code=booked["code"])["result"] == "not_inside"
    again = garage.scan("entry", plate="bab12")
    assert again["result"] == "already_used" and again["first_entry_at"]
    reused = garage.client.post(f"{garage.path}/scans", headers=garage.staff.headers, json={
        "direction": "entry", "nonce": "gate-one-0001", "code": garage.pass_of(garage.paid(make_user()))["code"]})
    assert error(reused) == (409, "nonce_reused")


def test_two_gates_scanning_one_pass_at_once_let_one_car_in(app, make_garage, make_user):
    garage = make_garage()
    booked = garage.pass_of(garage.paid(make_user()))
    answers = race(app, [lambda c, n=n: c.post(f"{garage.path}/scans", headers=garage.staff.headers, json={
        "direction": "entry", "code": booked["code"], "nonce": f"race-scan-{n:04d}"}) for n in range(2)])
    assert sorted(a.json["result"] for a in answers) == ["already_inside", "ok"]


def test_a_lot_with_in_and_out_lets_a_pass_back_in_within_its_window(make_garage, make_user):
    garage = make_garage(in_and_out=True)
    booked = garage.pass_of(garage.paid(make_user()))
    for direction in ("entry", "exit", "entry"):
        assert garage.scan(direction, code=booked["code"])["result"] == "ok"
    assert garage.scan("entry", code=booked["code"])["result"] == "already_inside"


def test_scans_refuse_forged_foreign_early_and_late_passes(make_garage, make_user):
    garage, elsewhere = make_garage(), make_garage()
    early = garage.pass_of(garage.paid(make_user(), start=evening(days=2), end=evening(days=2) + timedelta(hours=2)))
    foreign = elsewhere.pass_of(elsewhere.paid(make_user()))
    assert garage.scan("entry", code=early["code"][:-3] + "AAA")["result"] == "invalid_signature"
    assert garage.scan("entry", code="not-a-pass")["result"] == "invalid_signature"
    assert garage.scan("entry", code=foreign["code"])["result"] == "wrong_lot"
    answer = garage.scan("entry", code=early["code"])
    assert answer["result"] == "not_valid_yet" and answer["opens_at"]
    assert garage.scan("entry", plate="NO BOOKING 1")["result"] == "no_booking"
    late = garage.pass_of(garage.paid(make_user(), hours=1))
    assert garage.scan_at(late["ends_at"], "entry", code=late["code"])["result"] == "window_over"


def test_bad_plates_are_refused_with_nothing_changed(make_garage, snapshot):
    garage = make_garage()
    before = snapshot()
    for plate in ("", "!", "A", "x" * 40, "AB/12", 42):
        response = start_session(garage, plate=plate)
        assert error(response) == (422, "validation_error") and "plate" in response.json["error"]["details"]["fields"]
    assert snapshot() == before


def test_a_drive_up_is_charged_for_the_time_it_stayed_and_paid_at_the_box_office(app, make_garage):
    garage = make_garage(**ONE_SPACE)
    started = start_session(garage, plate="m xy 1")
    assert started.status_code == 201, started.json
    session = started.json
    assert (session["plate"], session["space"], session["state"], session["multiplier_bp"]) == (
        "MXY1", "P1-1", "open", 10000)
    # The car holds its space against bookings while it is parked.
    assert garage.availability() == {"standard": 0}
    assert error(garage.hold(garage.staff, garage.fresh_quote())) == (409, "sold_out")
    assert error(start_session(garage, plate="MXY-1")) == (409, "already_parked")

    out = garage.scan_at(at(session["started_at"]) + timedelta(minutes=50), "exit", plate="MXY1")
    # 50 minutes are billed as four 15-minute slots: one hour at 3.00.
    assert out["result"] == "pay" and out["session"]["minutes"] == 50 and out["session"]["charge"] == 300
    assert garage.availability() == {"standard": 1}
    paid = settle(garage, session["id"])
    assert paid.status_code == 200, paid.json
    assert (paid.json["order"]["state"], paid.json["order"]["total"], paid.json["session"]["state"]) == (
        "paid", 300, "paid")
    assert paid.json["session"]["amount_paid"] == 300 and paid.json["order"]["items"][0]["kind"] == "parking"
    assert error(settle(garage, session["id"])) == (409, "invalid_transition")
    # The session's order is the organizer's to see and refund like any other.
    refunded = garage.shop.refund(garage.owner, paid.json["order"]["id"])
    assert refunded.status_code == 201 and refunded.json["refunded_amount"] == 300
    assert garage.client.get(f"/api/v1/parking-sessions/{session['id']}",
                             headers=garage.staff.headers).json["state"] == "refunded"


def test_a_session_costs_nothing_when_it_ends_at_once_and_an_ended_one_cannot_end_again(make_garage):
    garage = make_garage()
    session = start_session(garage).json
    ended = garage.client.post(f"/api/v1/parking-sessions/{session['id']}/end", headers=garage.staff.headers)
    assert (ended.json["state"], ended.json["charge"], ended.json["charge_token"]) == ("closed", 0, None)
    again = garage.client.post(f"/api/v1/parking-sessions/{session['id']}/end", headers=garage.staff.headers)
    assert error(again) == (409, "invalid_transition")
    assert error(settle(garage, session["id"])) == (409, "invalid_transition")


def test_an_overstay_is_charged_by_the_lots_rule_and_paid_through_the_checkout(make_garage, make_user, make_event):
    garage = make_garage()
    booked = garage.pass_of(garage.paid(make_user(), hours=1, plate="OV 1"))
    assert garage.scan("entry", code=booked["code"])["result"] == "ok"
    assert garage.scan_at(at(booked["ends_at"]) + timedelta(minutes=10), "exit", plate="OV1")["result"] == "ok"
    other = garage.pass_of(garage.paid(make_user(), hours=1))
    garage.scan("entry", code=other["code"])
    out = garage.scan_at(at(other["ends_at"]) + timedelta(minutes=40), "exit", code=other["code"])
    # 40 minutes over, billed as 45: 2.25 at the booking's x1 times the lot's overstay x1.5 = 3.375, 3.38.
    assert out["result"] == "pay", out
    session = out["session"]
    assert (session["reason"], session["minutes"], session["multiplier_bp"], session["charge"]) == (
        "overstay", 40, 15000, 338)
    assert session["pass_id"] == other["id"]
    token_line = {"kind": "parking", "charge": session["charge_token"]}
    # Its charge token is a line like any other, but only for its own event.
    other_event = make_event(garage.owner)
    elsewhere = garage.client.post(f"/api/v1/events/{other_event['id']}/holds", json={"items": [token_line]},
                                   headers=garage.staff.headers)
    assert error(elsewhere) == (422, "charge_invalid")
    paid = settle(garage, session["id"])
    assert paid.status_code == 200 and paid.json["order"]["total"] == 338


def test_a_session_is_settled_after_its_event_has_completed(app, make_garage):
    starts = slot_start() + timedelta(minutes=30)
    garage = make_garage(event={"starts_at": starts, "ends_at": starts + timedelta(minutes=30)})
    session = start_session(garage).json
    staff = current(garage.staff)
    with time_machine.travel(starts + timedelta(hours=1), tick=False), app.app_context():
        assert lifecycle.complete_ended_events() == 1
        ended = sessions.end_session(session["id"], staff)
        assert ended["state"] == "ended" and ended["charge"] > 0
        settled = sessions.settle_session(session["id"], staff, payment_method="manual")
        assert (settled["order"]["state"], settled["session"]["state"]) == ("paid", "paid")


def test_sessions_left_open_past_closing_are_flagged_once(app, make_garage, make_user):
    garage = make_garage()
    session = start_session(garage).json
    assert session["planned_end"]
    with time_machine.travel(utcnow() + timedelta(hours=app.config["PARKING_SESSION_HOURS"], minutes=1), tick=False):
        counts = race(app, [lambda c: _flag(app)] * 2)
        assert sum(counts) == 1
        assert _flag(app) == 0
        with app.app_context():
            flagged = sessions.list_sessions(garage.lot["id"], current(garage.staff), state="flagged", limit=10)
    assert [s["id"] for s in flagged["items"]] == [session["id"]] and flagged["items"][0]["flagged"]


def _flag(app):
    with app.app_context():
        return sessions.flag_overdue_sessions()


def test_a_plate_finds_its_booking_at_entry(make_garage, make_user):
    garage = make_garage()
    later = garage.pass_of(garage.paid(make_user(), start=evening(days=3), end=evening(days=3) + timedelta(hours=1),
                                       plate="PL 77"))
    now = garage.pass_of(garage.paid(make_user(), plate="PL 77"))
    entry = garage.scan("entry", plate="pl-77")
    assert (entry["result"], entry["pass"]["id"]) == ("ok", now["id"])
    assert later["id"] != now["id"]
    assert garage.scan("exit", plate="PL77")["pass"]["id"] == now["id"]
