"""Connected accounts and onboarding, and the reports, ledger and splits: each party sees only its own."""
import csv
import io
from datetime import timedelta

import time_machine

from app.auth import Role
from app.timeutil import utcnow
from tests.orders.conftest import error
from tests.payments.stripe_stub import SECRET_KEY, WEBHOOK_SECRET, webhook
from tests.payouts.conftest import deliver


def test_a_party_opens_its_account_once_and_gets_an_onboarding_link(payouts):
    path = f"/api/v1/payouts/parties/{payouts.venue_party}"
    owner = payouts.venue_owner.headers
    assert payouts.client.get(f"{path}/account", headers=owner).json["status"] == "none"
    assert error(payouts.client.post(f"{path}/onboarding-link", headers=owner, json={
        "refresh_url": "https://app.example/refresh", "return_url": "https://app.example/done"})) == (
        409, "no_payout_account")
    first = payouts.client.put(f"{path}/account", json={"type": "standard", "country": "DE"}, headers=owner).json
    again = payouts.client.put(f"{path}/account", json={}, headers=owner).json
    assert first["stripe_account_id"] == again["stripe_account_id"] and len(payouts.stub.accounts) == 1
    assert (first["status"], first["type"], first["requirements_due"]) == (
        "onboarding", "standard", ["external_account", "tos_acceptance.date"])
    link = payouts.client.post(f"{path}/onboarding-link", headers=owner, json={
        "refresh_url": "https://app.example/refresh", "return_url": "https://app.example/done"})
    assert link.status_code == 201 and link.json["url"].startswith(payouts.stub.url)
    assert payouts.stub.links[-1]["account"] == first["stripe_account_id"]
    assert payouts.stub.links[-1]["type"] == "account_onboarding"
    assert deliver(payouts.client, "account.updated", payouts.stub.enable(first["stripe_account_id"])) == \
        "account_updated"
    assert payouts.client.get(f"{path}/account", headers=owner).json["status"] == "enabled"
    # The event's organizer does not run the venue: it learns nothing of the venue's account.
    assert error(payouts.client.get(f"{path}/account", headers=payouts.shop.owner.headers)) == (404, "not_found")


def test_connect_events_signed_with_the_connect_endpoint_s_secret_are_accepted(make_app, stripe_stub, make_user):
    app = make_app(STRIPE_SECRET_KEY=SECRET_KEY, STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET, STRIPE_API_BASE=stripe_stub.url,
                   STRIPE_CONNECT_WEBHOOK_SECRET="whsec_connect_test")
    client = app.test_client()
    organizer = make_user(Role.ORGANIZER)
    account = client.put(f"/api/v1/payouts/parties/organizer:{organizer.uid}/account", json={},
                         headers=organizer.headers).json
    body, headers = webhook("account.updated", stripe_stub.enable(account["stripe_account_id"]),
                            secret="whsec_connect_test")
    assert client.post("/api/v1/payments/webhooks/stripe", data=body, headers=headers).json["outcome"] == \
        "account_updated"
    body, headers = webhook("account.updated", stripe_stub.accounts[account["stripe_account_id"]],
                            secret="whsec_someone_else")
    assert error(client.post("/api/v1/payments/webhooks/stripe", data=body, headers=headers)) == (
        400, "invalid_signature")


def test_each_party_s_report_shows_only_its_own(payouts, make_user):
    payouts.open_account(payouts.organizer_party)
    payouts.open_account(payouts.venue_party)
    order = payouts.stripe_paid(make_user(), 2, lines=[{"kind": "parking", "quantity": 1}])
    payouts.shop.refund(payouts.shop.owner, order["id"], [order["tickets"][0]["ticket_id"]])
    outsider = make_user(Role.ORGANIZER)

    organizer = payouts.report(payouts.shop.owner)
    assert list(organizer) == [(payouts.organizer_party, "EUR")]
    row = organizer[(payouts.organizer_party, "EUR")]
    assert {k: row[k] for k in ("gross", "fees", "refunds", "net", "paid_out", "pending")} == {
        "gross": 5000, "fees": 125, "refunds": 2500, "net": 2375, "paid_out": 2375, "pending": 0}
    venue = payouts.report(payouts.venue_owner, party_id=payouts.venue_party)
    assert list(venue) == [(payouts.venue_party, "EUR")] and venue[(payouts.venue_party, "EUR")]["net"] == 1140
    assert payouts.report(outsider) == {}
    for stranger, party in ((outsider, payouts.venue_party), (payouts.shop.owner, payouts.venue_party),
                            (payouts.venue_owner, payouts.organizer_party), (payouts.venue_owner, "platform")):
        assert error(payouts.client.get("/api/v1/payouts/reports", query_string={"party_id": party},
                                        headers=stranger.headers)) == (404, "not_found")
        assert error(payouts.client.get("/api/v1/payouts/ledger", query_string={"party_id": party},
                                        headers=stranger.headers)) == (404, "not_found")
    assert error(payouts.client.get(f"/api/v1/payouts/orders/{order['id']}/splits", headers=outsider.headers)) == (
        404, "not_found")
    assert {e["party"] for e in payouts.ledger(user=payouts.venue_owner, party_id=payouts.venue_party)} == {
        payouts.venue_party}
    assert {e["party"] for e in payouts.ledger(user=payouts.shop.owner)} == {payouts.organizer_party}

    everyone = payouts.report(payouts.admin)
    assert set(everyone) == {(payouts.organizer_party, "EUR"), (payouts.venue_party, "EUR"), ("platform", "EUR")}
    assert everyone[("platform", "EUR")]["net"] == 125 + 60
    assert sum(r["net"] for r in everyone.values()) == order["total"] - 2500

    exported = payouts.client.get("/api/v1/payouts/reports.csv", headers=payouts.venue_owner.headers,
                                  query_string={"party_id": payouts.venue_party})
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
    assert [(r["party_id"], r["net"], r["paid_out"]) for r in rows] == [(payouts.venue_party, "1140", "1140")]


def test_a_report_covers_its_period_only(payouts, make_user):
    payouts.open_account(payouts.organizer_party)
    payouts.stripe_paid(make_user(), 1)
    cut = utcnow() + timedelta(minutes=10)
    with time_machine.travel(cut + timedelta(minutes=1), tick=True):
        payouts.stripe_paid(make_user(), 2)
        before = payouts.report(payouts.shop.owner, to=cut.isoformat())
        after = payouts.report(payouts.shop.owner, **{"from": cut.isoformat()})
    assert before[(payouts.organizer_party, "EUR")]["gross"] == 2500
    assert after[(payouts.organizer_party, "EUR")]["gross"] == 5000
    assert error(payouts.client.get("/api/v1/payouts/reports", headers=payouts.shop.owner.headers, query_string={
        "from": cut.isoformat(), "to": (cut - timedelta(days=2)).isoformat()})) == (422, "validation_error")
