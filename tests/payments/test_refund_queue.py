"""Refunds are durable: recorded with the change that owes them, sent until Stripe confirms, never twice."""
from datetime import timedelta

import time_machine

from app.auth import Role
from app.orders import refund_queue
from app.timeutil import utcnow
from tests.payments.test_stripe import deliver, stripe_order


def paid_stripe_order(shop, buyer, stripe_stub, quantity=1):
    order = stripe_order(shop, buyer, quantity)
    intent = stripe_stub.succeed(order["payment"]["reference"])
    assert deliver(shop.client, "payment_intent.succeeded", intent).json["outcome"] == "paid"
    return shop.get(buyer, order["id"]).json


def send(app):
    with app.app_context():
        return refund_queue.send_refunds()


def test_a_refund_stripe_could_not_take_is_sent_again_until_it_goes_through(app, make_shop, make_user, stripe_stub):
    shop = make_shop()
    buyer = make_user()
    order = paid_stripe_order(shop, buyer, stripe_stub, 2)
    stripe_stub.down = True
    response = shop.refund(shop.owner, order["id"], [order["tickets"][0]["ticket_id"]])
    assert response.status_code == 201, response.json
    [refund] = response.json["refunds"]
    # The tickets are void and the units back on sale; the money is owed, not lost.
    assert (refund["status"], response.json["refunded_amount"]) == ("pending", 2500)
    assert stripe_stub.refunded(order["payment"]["reference"]) == 0
    assert send(app) == 0  # not due again before its backoff
    stripe_stub.down = False
    with time_machine.travel(utcnow() + timedelta(seconds=app.config["REFUND_BACKOFF_SECONDS"] + 1)):
        assert send(app) == 1
        assert send(app) == 0
    assert shop.get(buyer, order["id"]).json["refunds"][0]["status"] == "succeeded"
    assert stripe_stub.refunded(order["payment"]["reference"]) == 2500


def test_a_pending_stripe_refund_waits_for_its_webhook_and_is_not_called_succeeded(app, make_shop, make_user,
                                                                                 stripe_stub):
    shop = make_shop()
    buyer = make_user()
    order = paid_stripe_order(shop, buyer, stripe_stub)
    stripe_stub.refund_status = "pending"
    [refund] = shop.refund(shop.owner, order["id"]).json["refunds"]
    assert refund["status"] == "submitted" and refund["reference"].startswith("re_")
    settled = stripe_stub.settle_refund(refund["reference"])
    assert deliver(shop.client, "refund.updated", settled).json["outcome"] == "refund_succeeded"
    assert deliver(shop.client, "charge.refund.updated", settled).json["outcome"] == "ignored"
    assert shop.get(buyer, order["id"]).json["refunds"][0]["status"] == "succeeded"


def test_a_lost_refund_webhook_is_made_up_for_by_asking_stripe(app, make_shop, make_user, stripe_stub):
    shop = make_shop()
    buyer = make_user()
    order = paid_stripe_order(shop, buyer, stripe_stub)
    stripe_stub.refund_status = "pending"
    [refund] = shop.refund(shop.owner, order["id"]).json["refunds"]
    stripe_stub.settle_refund(refund["reference"])
    with time_machine.travel(utcnow() + timedelta(seconds=app.config["REFUND_BACKOFF_SECONDS"] + 1)):
        assert send(app) == 1
    assert shop.get(buyer, order["id"]).json["refunds"][0]["status"] == "succeeded"
    assert len(stripe_stub.refunds) == 1


def test_a_refund_stripe_refused_and_one_never_sent_wait_for_an_admin(app, make_shop, make_user, stripe_stub):
    app.config["REFUND_MAX_ATTEMPTS"] = 2
    shop = make_shop()
    buyer, admin = make_user(), make_user(Role.ADMIN)
    order = paid_stripe_order(shop, buyer, stripe_stub, 2)
    stripe_stub.down = True
    first, second = order["tickets"]
    shop.refund(shop.owner, order["id"], [first["ticket_id"]])
    with time_machine.travel(utcnow() + timedelta(seconds=app.config["REFUND_BACKOFF_SECONDS"] + 1)):
        assert send(app) == 1
    listed = shop.client.get("/api/v1/admin/refunds?state=parked", headers=admin.headers).json["items"]
    assert [(r["order_id"], r["amount"], r["attempts"]) for r in listed] == [(order["id"], 2500, 2)]
    assert "APIError" in listed[0]["last_error"]

    stripe_stub.down = False
    retried = shop.client.post(f"/api/v1/admin/refunds/{listed[0]['id']}/retry", headers=admin.headers)
    assert retried.status_code == 200 and retried.json["state"] == "succeeded"
    # Paying the same refund again is Stripe's idempotency key's to refuse: once retried, it is done.
    assert shop.client.post(f"/api/v1/admin/refunds/{listed[0]['id']}/retry", headers=admin.headers).status_code == 409
    assert stripe_stub.refunded(order["payment"]["reference"]) == 2500

    stripe_stub.intents[order["payment"]["reference"]]["amount_received"] = 2500  # the bank took it back
    refused = shop.refund(shop.owner, order["id"], [second["ticket_id"]]).json["refunds"][-1]
    assert refused["status"] == "failed"
    failed = shop.client.get("/api/v1/admin/refunds?state=failed", headers=admin.headers).json["items"]
    assert [r["id"] for r in failed] == [refused["id"]] and "exceeds" in failed[0]["last_error"]


def test_the_refund_of_a_late_payment_survives_the_process_dying_before_stripe_was_asked(app, make_shop, make_user,
                                                                                       stripe_stub, monkeypatch):
    shop = make_shop(capacity=1)
    buyer, rival = make_user(), make_user()
    order = stripe_order(shop, buyer)
    later = utcnow() + timedelta(seconds=app.config["PAYMENT_TTL_SECONDS"] + 5)
    with time_machine.travel(later, tick=True):
        shop.buy(rival)
        intent = stripe_stub.succeed(order["payment"]["reference"])
        # The process dies between the webhook's commit and the call to Stripe.
        monkeypatch.setattr(refund_queue, "send_soon", lambda refund_id: None)
        assert deliver(shop.client, "payment_intent.succeeded", intent).json["outcome"] == "refunded"
        assert stripe_stub.refunded(intent["id"]) == 0
        assert shop.get(buyer, order["id"]).json["refunds"][0]["status"] == "pending"
        assert send(app) == 1
    assert stripe_stub.refunded(intent["id"]) == 2500
    assert shop.get(buyer, order["id"]).json["refunds"][0]["status"] == "succeeded"
