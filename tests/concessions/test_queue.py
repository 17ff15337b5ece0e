"""The stand's staff at work: the queue, one state at a time, the pickup code, cancellations and refunds."""
from datetime import timedelta

import pytest
import time_machine

from app.auth import Role
from app.concessions import queue
from tests.factories import current
from tests.orders.conftest import error


def test_orders_move_one_state_at_a_time_with_no_skipping_and_no_going_back(make_bar, make_user, snapshot):
    bar = make_bar()
    buyer = make_user()
    stand_order = bar.order_up(buyer, bar.burger())

    def refused(state, from_state):
        before = snapshot()
        response = bar.move(bar.staff, stand_order["id"], state)
        assert error(response) == (409, "invalid_transition"), (state, response.json)
        assert response.json["error"]["details"].get("from", from_state) == from_state
        assert snapshot() == before

    refused("ready", "received")
    refused("completed", "received")
    moved = bar.move(bar.staff, stand_order["id"], "preparing")
    assert (moved.status_code, moved.json["state"]) == (200, "preparing") and moved.json["preparing_at"]
    refused("preparing", "preparing")
    refused("received", "preparing")
    assert bar.move(bar.staff, stand_order["id"], "ready").json["state"] == "ready"
    refused("preparing", "ready")
    refused("completed", "ready")
    done = bar.redeem(bar.staff, code=stand_order["pickup_code"])
    assert (done.status_code, done.json["state"], done.json["redeemed_by"]) == (200, "completed", bar.staff.uid)
    refused("cancelled", "completed")
    refused("ready", "completed")


def test_a_pickup_code_is_redeemed_once(make_bar, make_user, snapshot):
    bar = make_bar()
    buyer = make_user()
    stand_order = bar.order_up(buyer, bar.burger())
    code = stand_order["pickup_code"]
    assert error(bar.redeem(bar.staff, code=code)) == (409, "invalid_transition")  # not ready yet
    bar.move(bar.staff, stand_order["id"], "preparing")
    bar.move(bar.staff, stand_order["id"], "ready")
    before = snapshot()
    assert error(bar.redeem(bar.staff, code="ZZZZZZ" if code != "ZZZZZZ" else "YYYYYY")) == (404, "not_found")
    assert error(bar.redeem(bar.staff, qr=stand_order["qr_code"][:-2] + "xx")) == (404, "not_found")
    assert snapshot() == before
    # Read out loud and typed in: case and separators do not matter.
    first = bar.redeem(bar.staff, code=f"{code[:3].lower()}-{code[3:]}")
    assert (first.status_code, first.json["state"]) == (200, "completed")
    for again in ({"code": code}, {"qr": stand_order["qr_code"]}):
        repeated = bar.redeem(bar.staff, **again)
        assert error(repeated) == (409, "already_redeemed")
        assert repeated.json["error"]["details"]["stand_order_id"] == stand_order["id"]


def test_a_code_redeems_its_order_at_its_own_stand_only(make_bar, make_user):
    bar = make_bar()
    stand_order = bar.order_up(make_user(), bar.burger())
    for state in ("preparing", "ready"):
        bar.move(bar.staff, stand_order["id"], state)
    # The venue's owner works both stands, and still cannot hand this order over at the other one.
    other = bar.call("POST", f"/venues/{bar.shop.sale.event['venue_id']}/stands", bar.owner, 201, json={
        "name": "Bar", "kind": "bar", "currency": "EUR", "event_ids": [bar.shop.id]}).json
    for code in ({"qr": stand_order["qr_code"]}, {"code": stand_order["pickup_code"]}):
        wrong = bar.call("POST", f"/stands/{other['id']}/pickups", bar.owner, json=code)
        assert error(wrong) == (404, "not_found")
    assert bar.redeem(bar.owner, qr=stand_order["qr_code"]).json["state"] == "completed"


def test_an_age_restricted_order_is_handed_over_once_the_buyers_id_is_checked(make_bar, make_user):
    bar = make_bar()
    stand_order = bar.order_up(make_user(), bar.line("beer", age_confirmed=True))
    for state in ("preparing", "ready"):
        bar.move(bar.staff, stand_order["id"], state)
    refused = bar.redeem(bar.staff, code=stand_order["pickup_code"])
    assert error(refused) == (422, "validation_error") and "age_checked" in refused.json["error"]["details"]["fields"]
    assert bar.redeem(bar.staff, code=stand_order["pickup_code"], age_checked=True).json["state"] == "completed"


def test_the_queue_is_oldest_first_cursor_paginated_and_filtered_by_state(make_bar, make_user):
    bar = make_bar()
    made = [bar.order_up(make_user(), bar.burger())["id"] for _ in range(3)]
    bar.move(bar.staff, made[1], "preparing")
    first = bar.queue(bar.staff, limit=2).json
    second = bar.queue(bar.staff, limit=2, cursor=first["next_cursor"]).json
    assert [s["id"] for s in first["items"] + second["items"]] == made and second["next_cursor"] is None
    assert [s["id"] for s in bar.queue(bar.staff, state="received").json["items"]] == [made[0], made[2]]
    assert [s["id"] for s in bar.queue(bar.staff, state="preparing").json["items"]] == [made[1]]
    # Staff work from what the buyer shows: the queue does not give the pickup codes away.
    assert all("pickup_code" not in s and "qr_code" not in s for s in first["items"])


def test_a_stands_staff_work_only_its_queue(app, make_bar, make_user):
    bar = make_bar()
    stand_order = bar.order_up(make_user(), bar.burger())
    other = bar.call("POST", f"/venues/{bar.shop.sale.event['venue_id']}/stands", bar.owner, 201, json={
        "name": "Bar", "kind": "bar", "currency": "EUR", "event_ids": [bar.shop.id]}).json
    colleague = make_user(Role.STAFF)
    bar.call("POST", f"/venues/{bar.shop.sale.event['venue_id']}/staff", bar.owner, 200, json={"uid": colleague.uid})
    bar.call("POST", f"/stands/{other['id']}/staff", bar.owner, 200, json={"uid": colleague.uid})
    # The venue's staff member who works the other stand sees neither this queue nor its orders.
    assert error(bar.queue(colleague)) == (403, "forbidden")
    assert error(bar.move(colleague, stand_order["id"], "preparing")) == (404, "not_found")
    assert error(bar.redeem(colleague, code=stand_order["pickup_code"])) == (403, "forbidden")
    assert bar.call("GET", f"/stands/{other['id']}/queue", colleague, query_string={"event_id": bar.shop.id}
                    ).status_code == 200
    assert bar.queue(bar.owner).status_code == 200
    # Staff taken off the venue lose its stands too.
    bar.call("DELETE", f"/venues/{bar.shop.sale.event['venue_id']}/staff", bar.owner, 204, json={"uid": bar.staff.uid})
    assert error(bar.queue(bar.staff)) == (403, "forbidden")


def test_staff_cancelling_an_order_refunds_the_stands_lines_only(make_bar, make_user, snapshot):
    bar = make_bar()
    buyer = make_user()
    order = bar.paid(buyer, bar.burger(2), bar.line("fries", variant_id="small"), tickets=1, tip=100)
    [stand_order] = bar.stand_orders(buyer, order["id"])
    bar.move(bar.staff, stand_order["id"], "preparing")
    cancelled = bar.move(bar.staff, stand_order["id"], "cancelled", reason="out of buns")
    assert cancelled.status_code == 200, cancelled.json
    assert (cancelled.json["state"], cancelled.json["cancel_reason"]) == ("cancelled", "out of buns")
    refunded = bar.shop.get(buyer, order["id"]).json
    assert refunded["state"] == "partially_refunded"
    assert refunded["refunded_amount"] == stand_order["total"] == order["total"] - 2500
    [refund] = refunded["refunds"]
    assert (refund["amount"], refund["status"], refund["reason"]) == (stand_order["total"], "succeeded",
                                                                       "out of buns")
    assert [t["refunded"] for t in refunded["tickets"]] == [False]
    before = snapshot()
    assert error(bar.move(bar.staff, stand_order["id"], "cancelled")) == (409, "invalid_transition")
    assert snapshot() == before


def test_refunding_one_line_through_the_refund_endpoint_keeps_the_rest_of_the_stand_order(make_bar, make_user):
    bar = make_bar()
    buyer = make_user()
    order = bar.paid(buyer, bar.burger(), bar.line("fries", variant_id="large"), tip=100)
    burger, fries = order["items"]
    one = bar.shop.refund(bar.owner, order["id"], line_ids=[fries["id"]])
    assert one.status_code == 201, one.json
    assert (one.json["state"], one.json["refunded_amount"]) == ("partially_refunded", fries["total"])
    [stand_order] = bar.stand_orders(buyer, order["id"])
    assert stand_order["state"] == "received"
    assert [(line["refunded_quantity"], line["refunded_amount"]) for line in stand_order["lines"]] == [
        (0, 0), (1, fries["total"])]
    rest = bar.shop.refund(bar.owner, order["id"], line_ids=[burger["id"]])
    assert (rest.json["state"], rest.json["refunded_amount"]) == ("refunded", order["total"])
    [stand_order] = bar.stand_orders(buyer, order["id"])
    assert (stand_order["state"], stand_order["cancel_reason"]) == ("cancelled", "refunded")


def test_an_order_handed_over_is_refunded_only_when_the_organizer_says_so(make_bar, make_user):
    bar = make_bar()
    buyer = make_user()
    order = bar.paid(buyer, bar.burger(), bar.line("fries", variant_id="small"))
    [stand_order] = bar.stand_orders(buyer, order["id"])
    for state in ("preparing", "ready"):
        bar.move(bar.staff, stand_order["id"], state)
    bar.redeem(bar.staff, code=stand_order["pickup_code"])
    assert error(bar.shop.refund(bar.owner, order["id"])) == (409, "already_collected")
    forced = bar.shop.refund(bar.owner, order["id"], whole_order=True, allow_checked_in=True)
    assert (forced.status_code, forced.json["state"]) == (201, "refunded")
    [stand_order] = bar.stand_orders(buyer, order["id"])
    assert stand_order["state"] == "completed"
    assert [line["refunded_quantity"] for line in stand_order["lines"]] == [1, 1]


def test_cancelling_the_event_cancels_and_refunds_its_stand_orders(make_bar, make_user):
    bar = make_bar()
    buyer = make_user()
    order = bar.paid(buyer, bar.burger(2), bar.line("fries", variant_id="small"))
    cancel = bar.call("POST", f"/events/{bar.shop.id}/cancel", bar.owner)
    assert cancel.status_code == 200
    [stand_order] = bar.stand_orders(buyer, order["id"])
    assert stand_order["state"] == "cancelled"
    assert bar.shop.get(buyer, order["id"]).json["state"] == "refunded"
    stand = bar.call("GET", f"/stands/{bar.id}").json
    assert (stand["event_ids"], stand["closed_event_ids"]) == ([], [bar.shop.id])


@pytest.mark.parametrize("accepted", [False, True])
def test_orders_nobody_accepts_in_time_are_cancelled_and_refunded_by_the_scheduler(app, make_bar, make_user,
                                                                                    accepted):
    bar = make_bar()
    buyer = make_user()
    order = bar.paid(buyer, bar.burger())
    [stand_order] = bar.stand_orders(buyer, order["id"])
    if accepted:
        bar.move(bar.staff, stand_order["id"], "preparing")
    # Ordered a month ahead: the clock starts at the event's start.
    timeout = timedelta(seconds=app.config["CONCESSION_ACCEPT_TIMEOUT_SECONDS"])
    with app.app_context():
        with time_machine.travel(bar.shop.sale.event["starts_at"] + timeout - timedelta(seconds=5)):
            assert queue.cancel_unaccepted_orders() == 0
        with time_machine.travel(bar.shop.sale.event["starts_at"] + timeout + timedelta(seconds=5)):
            assert queue.cancel_unaccepted_orders() == (0 if accepted else 1)
            assert queue.cancel_unaccepted_orders() == 0
    [after] = bar.stand_orders(buyer, order["id"])
    assert after["state"] == ("preparing" if accepted else "cancelled")
    assert bar.shop.get(buyer, order["id"]).json["state"] == ("paid" if accepted else "refunded")
    if not accepted:
        assert after["cancel_reason"] == "not_accepted_in_time"


def test_an_order_accepted_while_the_job_runs_is_left_alone(app, make_bar, make_user, monkeypatch):
    bar = make_bar()
    buyer = make_user()
    stand_order = bar.order_up(buyer, bar.burger())
    cancel = queue._cancel

    def accepted_first(so_id, **kwargs):
        # A staff member accepts it between the job's query and its transaction.
        assert queue.change_state(so_id, current(bar.staff), state="preparing")["state"] == "preparing"
        return cancel(so_id, **kwargs)

    monkeypatch.setattr(queue, "_cancel", accepted_first)
    late = bar.shop.sale.event["starts_at"] + timedelta(seconds=app.config["CONCESSION_ACCEPT_TIMEOUT_SECONDS"] + 5)
    with app.app_context(), time_machine.travel(late):
        assert queue.cancel_unaccepted_orders() == 0
    assert bar.call("GET", f"/stand-orders/{stand_order['id']}", buyer, 200).json["state"] == "preparing"
    assert bar.shop.get(buyer, stand_order["order_id"]).json["state"] == "paid"


def test_the_stand_order_is_its_buyers_and_the_stands(make_bar, make_user):
    bar = make_bar()
    buyer, stranger = make_user(), make_user()
    stand_order = bar.order_up(buyer, bar.burger())
    path = f"/stand-orders/{stand_order['id']}"
    mine = bar.call("GET", path, buyer, 200).json
    assert mine["pickup_code"] == stand_order["pickup_code"]
    assert "pickup_code" not in bar.call("GET", path, bar.staff, 200).json
    assert bar.call("GET", path, stranger).status_code == 404
    qr = bar.call("GET", f"{path}/qr.svg", buyer, 200)
    assert qr.mimetype == "image/svg+xml" and b"<svg" in qr.data
    assert error(bar.call("GET", f"{path}/qr.svg", bar.staff)) == (403, "forbidden")
