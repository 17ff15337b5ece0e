"""Cancelling an event ends what was sold for it: holds, unpaid orders, started payments and paid orders."""
from app.orders import cancellation
from tests.payments.test_refund_queue import paid_stripe_order
from tests.payments.test_stripe import deliver, stripe_order


def cancel(shop):
    response = shop.client.post(f"/api/v1/events/{shop.id}/cancel", headers=shop.owner.headers)
    assert response.status_code == 200, response.json


def test_cancelling_an_event_releases_cancels_and_refunds_everything_sold_for_it(make_shop, make_user, stripe_stub):
    shop = make_shop(capacity=10)
    holder, waiting, card, box_office, late = (make_user() for _ in range(5))
    hold = shop.hold(holder, 2)
    unpaid = stripe_order(shop, waiting)
    paid_by_card = paid_stripe_order(shop, card, stripe_stub, 2)
    paid_at_box_office = shop.paid(box_office)
    started = stripe_order(shop, late)

    cancel(shop)
    assert shop.client.get(f"/api/v1/holds/{hold['id']}", headers=holder.headers).json["state"] == "released"
    assert shop.get(waiting, unpaid["id"]).json["state"] == "cancelled"
    assert stripe_stub.intents[unpaid["payment"]["reference"]]["status"] == "canceled"
    card_order = shop.get(card, paid_by_card["id"]).json
    assert (card_order["state"], card_order["refunded_amount"]) == ("refunded", 5000)
    assert [(r["reason"], r["status"]) for r in card_order["refunds"]] == [("event_cancelled", "succeeded")]
    assert stripe_stub.refunded(paid_by_card["payment"]["reference"]) == 5000
    assert shop.get(box_office, paid_at_box_office["id"]).json["state"] == "refunded"
    tickets = shop.client.get("/api/v1/tickets", headers=card.headers).json["items"]
    assert {t["state"] for t in tickets} == {"voided"}

    # A payment that gets through afterwards (the buyer's bank was slow) is given back.
    intent = stripe_stub.succeed(started["payment"]["reference"])
    assert deliver(shop.client, "payment_intent.succeeded", intent).json["outcome"] == "refunded"
    after = shop.get(late, started["id"]).json
    assert (after["state"], after["refunds"][0]["reason"]) == ("refunded", "event_cancelled")
    assert stripe_stub.refunded(intent["id"]) == 2500
    assert shop.client.get("/api/v1/tickets", headers=late.headers).json["items"] == []


def test_what_the_cancelling_request_left_the_scheduler_finishes(app, make_shop, make_user, monkeypatch):
    monkeypatch.setattr(cancellation, "INLINE_ORDERS", 1)
    shop = make_shop(capacity=10)
    buyers = [make_user() for _ in range(3)]
    orders = [shop.paid(buyer) for buyer in buyers]
    cancel(shop)
    states = sorted(shop.get(b, o["id"]).json["state"] for b, o in zip(buyers, orders))
    assert states == ["paid", "paid", "refunded"]
    with app.app_context():
        assert cancellation.settle_cancelled_events() == 1
        assert cancellation.settle_cancelled_events() == 0
    assert {shop.get(b, o["id"]).json["state"] for b, o in zip(buyers, orders)} == {"refunded"}
    assert {len(shop.get(b, o["id"]).json["refunds"]) for b, o in zip(buyers, orders)} == {1}
