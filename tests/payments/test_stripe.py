"""Stripe end to end against a local stand-in: PaymentIntents, signed webhooks applied once, late payments."""
from datetime import timedelta

import pytest
import time_machine

from app.orders.webhooks import PAYMENT_EVENTS
from app.timeutil import utcnow
from tests.orders.conftest import error
from tests.payments.stripe_stub import webhook


def deliver(client, event_type, obj, **kwargs):
    body, headers = webhook(event_type, obj, **kwargs)
    return client.post("/api/v1/payments/webhooks/stripe", data=body, headers=headers)


def stripe_order(shop, buyer, quantity=1, **kwargs):
    return shop.buy(buyer, quantity, method="stripe", **kwargs)


def tickets_of(shop, buyer):
    return shop.client.get("/api/v1/tickets", headers=buyer.headers).json["items"]


def test_the_whole_journey_hold_order_webhook_tickets(make_shop, make_user, stripe_stub):
    shop = make_shop(capacity=3)
    buyer = make_user()
    assert shop.client.get("/api/v1/payments/methods").json == {"methods": ["manual", "stripe"]}
    order = stripe_order(shop, buyer, 2)
    payment = order["payment"]
    assert payment["method"] == "stripe" and payment["status"] == "requires_payment_method"
    intent = stripe_stub.intents[payment["reference"]]
    assert (intent["amount"], intent["currency"]) == (5000, "eur")
    assert intent["metadata"] == {"order_id": order["id"], "event_id": shop.id}
    assert payment["client_secret"] == intent["client_secret"]
    assert "client_secret" not in shop.get(shop.owner, order["id"]).json["payment"]

    response = deliver(shop.client, "payment_intent.succeeded", stripe_stub.succeed(intent["id"]))
    assert response.status_code == 200 and response.json == {"received": True, "outcome": "paid"}
    paid = shop.get(buyer, order["id"]).json
    assert paid["state"] == "paid" and paid["payment"]["status"] == "succeeded"
    assert len(tickets_of(shop, buyer)) == 2
    assert shop.remaining() == 1


def test_a_retried_order_creates_one_payment_intent(make_shop, make_user, stripe_stub):
    shop = make_shop()
    buyer = make_user()
    hold = shop.hold(buyer)
    first = shop.order(buyer, hold["id"], method="stripe", key="k-1").json
    second = shop.order(buyer, hold["id"], method="stripe", key="k-1").json
    assert first["payment"]["reference"] == second["payment"]["reference"]
    assert len(stripe_stub.intents) == 1


def test_a_double_delivered_event_is_applied_once(app, make_shop, make_user, stripe_stub):
    shop = make_shop()
    buyer = make_user()
    order = stripe_order(shop, buyer)
    body, headers = webhook("payment_intent.succeeded", stripe_stub.succeed(order["payment"]["reference"]))
    outcomes = [shop.client.post("/api/v1/payments/webhooks/stripe", data=body, headers=headers).json["outcome"]
                for _ in range(2)]
    assert outcomes == ["paid", "duplicate"]
    # The same payment reported again under a new event id changes nothing either.
    again = deliver(shop.client, "payment_intent.succeeded", stripe_stub.intents[order["payment"]["reference"]])
    assert again.json["outcome"] == "already_paid"
    assert len(tickets_of(shop, buyer)) == 1
    with app.app_context():
        from app.firebase import db
        assert len(list(db().collection(PAYMENT_EVENTS).stream())) == 2


def test_a_failure_reported_after_the_success_does_not_undo_it(make_shop, make_user, stripe_stub):
    shop = make_shop()
    buyer = make_user()
    order = stripe_order(shop, buyer)
    reference = order["payment"]["reference"]
    failed = stripe_stub.fail(reference)
    succeeded = stripe_stub.succeed(reference)
    assert deliver(shop.client, "payment_intent.succeeded", succeeded).json["outcome"] == "paid"
    assert deliver(shop.client, "payment_intent.payment_failed", failed).json["outcome"] == "ignored"
    assert shop.get(buyer, order["id"]).json["state"] == "paid"
    assert len(tickets_of(shop, buyer)) == 1


def test_a_failed_attempt_is_noted_and_a_later_success_still_pays(make_shop, make_user, stripe_stub):
    shop = make_shop()
    buyer = make_user()
    order = stripe_order(shop, buyer)
    reference = order["payment"]["reference"]
    assert deliver(shop.client, "payment_intent.payment_failed", stripe_stub.fail(reference)).json["outcome"] == \
        "payment_failed"
    pending = shop.get(buyer, order["id"]).json
    assert pending["state"] == "pending_payment"
    assert pending["payment"]["last_error"] == "Your card was declined."
    assert deliver(shop.client, "payment_intent.succeeded", stripe_stub.succeed(reference)).json["outcome"] == "paid"
    assert shop.get(buyer, order["id"]).json["state"] == "paid"


@pytest.mark.parametrize("tamper", ["wrong_secret", "changed_body", "no_header", "stale"])
def test_a_bad_signature_is_400_and_changes_nothing(app, make_shop, make_user, stripe_stub, tamper):
    shop = make_shop()
    buyer = make_user()
    order = stripe_order(shop, buyer)
    intent = stripe_stub.succeed(order["payment"]["reference"])
    if tamper == "wrong_secret":
        body, headers = webhook("payment_intent.succeeded", intent, secret="whsec_attacker")
    elif tamper == "stale":
        body, headers = webhook("payment_intent.succeeded", intent, timestamp=int(utcnow().timestamp()) - 3600)
    else:
        body, headers = webhook("payment_intent.succeeded", {**intent, "amount_received": 1})
        if tamper == "changed_body":
            body = body.replace('"amount_received": 1', f'"amount_received": {intent["amount"]}')
        else:
            headers.pop("Stripe-Signature")
    response = shop.client.post("/api/v1/payments/webhooks/stripe", data=body, headers=headers)
    assert error(response) == (400, "invalid_signature")
    assert shop.get(buyer, order["id"]).json["state"] == "pending_payment"
    assert tickets_of(shop, buyer) == []
    with app.app_context():
        from app.firebase import db
        assert list(db().collection(PAYMENT_EVENTS).stream()) == []


@pytest.mark.parametrize("change", [{"amount": 100}, {"currency": "usd"}])
def test_a_payment_of_the_wrong_amount_or_currency_does_not_pay(make_shop, make_user, stripe_stub, change):
    shop = make_shop()
    buyer = make_user()
    order = stripe_order(shop, buyer)
    intent = stripe_stub.succeed(order["payment"]["reference"], **change)
    assert deliver(shop.client, "payment_intent.succeeded", intent).json["outcome"] == "amount_mismatch"
    assert shop.get(buyer, order["id"]).json["state"] == "pending_payment"
    assert tickets_of(shop, buyer) == []


def test_an_event_for_no_order_is_acknowledged_and_ignored(make_shop, stripe_stub):
    shop = make_shop()
    response = deliver(shop.client, "payment_intent.succeeded",
                       {"id": "pi_x", "object": "payment_intent", "amount_received": 5, "currency": "eur",
                        "metadata": {}})
    assert response.status_code == 200 and response.json["outcome"] == "unknown_order"
    assert deliver(shop.client, "customer.created", {"id": "cus_1", "object": "customer"}).json["outcome"] == \
        "ignored"


def test_a_late_payment_takes_the_units_back_when_they_are_still_free(app, make_shop, make_user, stripe_stub):
    shop = make_shop(capacity=1)
    buyer = make_user()
    order = stripe_order(shop, buyer)
    with time_machine.travel(utcnow() + timedelta(seconds=app.config["PAYMENT_TTL_SECONDS"] + 5), tick=True):
        assert shop.get(buyer, order["id"]).json["state"] == "expired"
        intent = stripe_stub.succeed(order["payment"]["reference"])
        assert deliver(shop.client, "payment_intent.succeeded", intent).json["outcome"] == "paid_late"
        assert shop.get(buyer, order["id"]).json["state"] == "paid"
        assert shop.remaining() == 0
    assert stripe_stub.refunds == {}


def test_a_late_payment_is_refunded_when_its_units_were_sold_to_someone_else(app, make_shop, make_user, stripe_stub):
    shop = make_shop(capacity=1)
    buyer, rival = make_user(), make_user()
    order = stripe_order(shop, buyer)
    with time_machine.travel(utcnow() + timedelta(seconds=app.config["PAYMENT_TTL_SECONDS"] + 5), tick=True):
        rival_order = shop.buy(rival)
        intent = stripe_stub.succeed(order["payment"]["reference"])
        assert deliver(shop.client, "payment_intent.succeeded", intent).json["outcome"] == "refunded"
        refunded = shop.get(buyer, order["id"]).json
        assert refunded["state"] == "refunded" and refunded["refunded_amount"] == 2500
        assert refunded["refunds"][0]["status"] == "succeeded"
        assert refunded["refunds"][0]["reason"] == "units_no_longer_available"
        assert stripe_stub.refunded(intent["id"]) == 2500
        assert tickets_of(shop, buyer) == []
        assert shop.get(rival, rival_order["id"]).json["state"] == "pending_payment"


def test_cancelling_a_stripe_order_cancels_its_payment_intent(make_shop, make_user, stripe_stub):
    shop = make_shop()
    buyer = make_user()
    order = stripe_order(shop, buyer)
    assert shop.cancel(buyer, order["id"]).status_code == 200
    assert stripe_stub.intents[order["payment"]["reference"]]["status"] == "canceled"


def test_a_payment_for_a_cancelled_order_is_refunded(make_shop, make_user, stripe_stub):
    shop = make_shop()
    buyer = make_user()
    order = stripe_order(shop, buyer)
    intent = stripe_stub.succeed(order["payment"]["reference"])
    assert shop.cancel(buyer, order["id"]).status_code == 200
    assert deliver(shop.client, "payment_intent.succeeded", intent).json["outcome"] == "refunded"
    assert stripe_stub.refunded(intent["id"]) == 2500
    assert shop.get(buyer, order["id"]).json["state"] == "refunded"
    assert shop.remaining() == 5


def test_stripe_orders_are_not_marked_paid_by_hand(make_shop, make_user):
    shop = make_shop()
    order = stripe_order(shop, make_user())
    assert error(shop.mark_paid(shop.owner, order["id"])) == (409, "wrong_payment_method")


def test_an_order_whose_payment_could_not_start_can_be_started_again_by_its_buyer(make_shop, make_user, stripe_stub):
    shop = make_shop()
    buyer, stranger = make_user(), make_user()
    stripe_stub.down = True
    created = shop.order(buyer, shop.hold(buyer)["id"], method="stripe")
    assert created.status_code == 201, created.json
    order = created.json
    assert (order["state"], order["payment"]["status"]) == ("pending_payment", "start_failed")
    assert stripe_stub.intents == {}
    url = f"/api/v1/orders/{order['id']}/payment"
    still_down = shop.client.post(url, headers=buyer.headers)
    assert still_down.status_code == 200 and still_down.json["payment"]["status"] == "start_failed"
    stripe_stub.down = False
    assert error(shop.client.post(url, headers=stranger.headers)) == (404, "not_found")
    assert error(shop.client.post(url, headers=shop.owner.headers)) == (403, "forbidden")
    started = shop.client.post(url, headers=buyer.headers)
    assert started.status_code == 200, started.json
    payment = started.json["payment"]
    assert payment["status"] == "requires_payment_method" and payment["client_secret"] and "last_error" not in payment
    again = shop.client.post(url, headers=buyer.headers).json["payment"]
    assert again["reference"] == payment["reference"] and len(stripe_stub.intents) == 1
    intent = stripe_stub.succeed(payment["reference"])
    assert deliver(shop.client, "payment_intent.succeeded", intent).json["outcome"] == "paid"
    assert error(shop.client.post(url, headers=buyer.headers)) == (409, "payment_not_startable")


@pytest.mark.parametrize("currency, price, stripe_amount", [("JPY", 3000, 3000), ("ISK", 5000, 500000),
                                                            ("KWD", 12340, 12340), ("EUR", 2500, 2500)])
def test_stripe_is_charged_in_its_own_units_and_the_webhook_read_back_in_minor_units(
        make_shop, make_user, stripe_stub, currency, price, stripe_amount):
    shop = make_shop(price=price, currency=currency)
    buyer = make_user()
    order = stripe_order(shop, buyer)
    intent = stripe_stub.intents[order["payment"]["reference"]]
    assert (intent["amount"], intent["currency"]) == (stripe_amount, currency.lower())
    assert deliver(shop.client, "payment_intent.succeeded", stripe_stub.succeed(intent["id"])).json["outcome"] == \
        "paid"
    assert shop.get(buyer, order["id"]).json["payment"]["amount"] == price


def test_an_amount_stripe_cannot_charge_is_refused_before_any_order_is_made(make_shop, make_user, stripe_stub):
    shop = make_shop(price=12345, currency="KWD")
    buyer = make_user()
    hold = shop.hold(buyer)
    assert error(shop.order(buyer, hold["id"], method="stripe")) == (422, "amount_not_chargeable")
    assert shop.client.get("/api/v1/orders", headers=buyer.headers).json["items"] == []
    assert shop.order(buyer, hold["id"]).status_code == 201
