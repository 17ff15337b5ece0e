"""A drive-up's charge paid by card: the settlement's order goes to Stripe, the attendant's terminal gets its client
secret, and Stripe's webhook marks the session paid; asking again while it is pending answers the same order."""
from datetime import datetime, timedelta

from tests.parking.conftest import make_garage  # noqa: F401  (the fixture, for this directory)
from tests.payments.stripe_stub import webhook


def test_a_drive_up_charge_is_paid_by_card_through_stripes_webhook(make_garage, stripe_stub):  # noqa: F811
    garage = make_garage()
    session = garage.client.post(f"{garage.path}/sessions", headers=garage.staff.headers,
                                 json={"plate": "CARD 1", "event_id": garage.event["id"]}).json
    out = garage.scan_at(datetime.fromisoformat(session["started_at"]) + timedelta(minutes=85), "exit",
                         plate="CARD1")
    assert (out["result"], out["session"]["charge"]) == ("pay", 450)
    settle = f"/api/v1/parking-sessions/{session['id']}/settlement"
    first = garage.client.post(settle, json={"payment_method": "stripe"}, headers=garage.staff.headers)
    assert first.status_code == 200, first.json
    order = first.json["order"]
    intent = stripe_stub.intents[order["payment"]["reference"]]
    assert (order["state"], order["total"], intent["amount"]) == ("pending_payment", 450, 450)
    assert order["payment"]["client_secret"] == intent["client_secret"]
    assert first.json["session"]["state"] == "ended"
    again = garage.client.post(settle, json={"payment_method": "stripe"}, headers=garage.staff.headers)
    assert again.json["order"]["id"] == order["id"]

    body, headers = webhook("payment_intent.succeeded", stripe_stub.succeed(intent["id"]))
    assert garage.client.post("/api/v1/payments/webhooks/stripe", data=body, headers=headers).json["outcome"] == "paid"
    paid = garage.client.get(f"/api/v1/parking-sessions/{session['id']}", headers=garage.staff.headers).json
    assert (paid["state"], paid["amount_paid"], paid["order_id"]) == ("paid", 450, order["id"])
