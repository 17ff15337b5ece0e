"""Transfers follow the money: once per party and order, never twice after a crash, held for an account that
cannot receive, reversed in proportion on refund, frozen by a dispute."""
from datetime import timedelta

import time_machine

from app.payouts import booking, connect, repair, transfers
from app.timeutil import utcnow
from tests.payouts.conftest import deliver


def later(app, seconds=None):
    return time_machine.travel(utcnow() + timedelta(seconds=seconds or app.config["PAYOUT_BACKOFF_SECONDS"] + 1))


def test_each_party_is_transferred_its_part_in_the_order_s_transfer_group(payouts, make_user):
    organizer = payouts.open_account(payouts.organizer_party)
    venue = payouts.open_account(payouts.venue_party)
    order = payouts.stripe_paid(make_user(), 2, lines=[{"kind": "parking", "quantity": 1}])
    stub = payouts.stub
    intent = stub.intents[order["payment"]["reference"]]
    assert intent["transfer_group"] == f"order-{order['id']}"
    sent = {(t["destination"], t["amount"], t["transfer_group"], t["source_transaction"])
            for t in stub.transfers.values()}
    group, charge = f"order-{order['id']}", intent["latest_charge"]
    # Tickets to the organizer, parking to the venue, each less the default 5% fee.
    assert sent == {(organizer["stripe_account_id"], 4750, group, charge), (venue["stripe_account_id"], 1140, group,
                                                                           charge)}
    assert {t["state"] for t in payouts.transfers_of(order["id"]).values()} == {"succeeded"}
    assert payouts.send() == 0


def test_a_transfer_retried_after_a_crash_is_not_paid_twice(app, payouts, make_user, monkeypatch):
    payouts.open_account(payouts.organizer_party)
    real_change = transfers._change

    def crash_after_stripe_answered(record_id, change):
        raise RuntimeError("the process died before recording the transfer")

    monkeypatch.setattr(transfers, "_change", crash_after_stripe_answered)
    order = payouts.stripe_paid(make_user(), 2)
    assert len(payouts.stub.transfers) == 1  # Stripe made it; we never recorded it
    [record] = payouts.transfers_of(order["id"]).values()
    assert record["state"] == "pending" and record["attempted"]
    monkeypatch.setattr(transfers, "_change", real_change)
    assert payouts.send() == 0  # another sender waits for the dead one's lease
    with later(app, transfers.LEASE.total_seconds() + 1):
        assert payouts.send() == 1
    assert len(payouts.stub.transfers) == 1
    [record] = payouts.transfers_of(order["id"]).values()
    assert record["state"] == "succeeded" and record["reference"] == next(iter(payouts.stub.transfers))
    assert [e["amount"] for e in payouts.ledger(order_id=order["id"]) if e["movement"] == "transfer"] == [-4750, 4750]


def test_an_account_without_payouts_holds_its_money_until_stripe_enables_it(app, payouts, make_user):
    account = payouts.open_account(payouts.organizer_party, enabled=False)
    payouts.stub.enable(account["stripe_account_id"], payouts=False)
    deliver(payouts.client, "account.updated", payouts.stub.accounts[account["stripe_account_id"]])
    order = payouts.stripe_paid(make_user(), 2)
    assert payouts.stub.transfers == {}
    assert payouts.transfers_of(order["id"])[payouts.organizer_party]["state"] == "held"
    with later(app):
        assert payouts.send() == 0
    row = payouts.report(payouts.shop.owner)[(payouts.organizer_party, "EUR")]
    assert (row["net"], row["paid_out"], row["pending"], row["waiting_for_account"], row["account_status"]) == (
        4750, 0, 4750, 4750, "restricted")

    enabled = payouts.stub.enable(account["stripe_account_id"])
    assert deliver(payouts.client, "account.updated", enabled, event_id="evt_enabled") == "account_updated"
    assert deliver(payouts.client, "account.updated", enabled, event_id="evt_enabled") == "duplicate"
    assert payouts.stub.net_transferred(account["stripe_account_id"]) == 4750
    row = payouts.report(payouts.shop.owner)[(payouts.organizer_party, "EUR")]
    assert (row["paid_out"], row["pending"], row["waiting_for_account"]) == (4750, 0, 0)


def test_a_refund_after_transfers_reverses_them_in_proportion(payouts, make_user):
    organizer = payouts.open_account(payouts.organizer_party)
    venue = payouts.open_account(payouts.venue_party)
    order = payouts.stripe_paid(make_user(), 2, lines=[{"kind": "parking", "quantity": 2}])
    assert payouts.stub.net_transferred(organizer["stripe_account_id"]) == 4750
    ticket, parking = order["tickets"][0]["ticket_id"], order["items"][1]["id"]
    assert payouts.shop.refund(payouts.shop.owner, order["id"], [ticket]).status_code == 201
    # One of two tickets: half the organizer's part back, the platform's fee on it returned.
    assert payouts.stub.net_transferred(organizer["stripe_account_id"]) == 2375
    assert payouts.stub.net_transferred(venue["stripe_account_id"]) == 2280
    assert payouts.shop.refund(payouts.shop.owner, order["id"], line_ids=[parking]).status_code == 201
    assert payouts.stub.net_transferred(venue["stripe_account_id"]) == 0
    assert len(payouts.stub.reversals) == 2
    entries = payouts.ledger(order_id=order["id"])
    assert sum(e["amount"] for e in entries) == 0
    assert sum(e["amount"] for e in entries if e["account"] == "buyer") == -2500
    assert sum(e["amount"] for e in entries if e["account"] == "platform") == 125


def test_a_refund_before_the_transfer_makes_the_transfer_smaller(app, payouts, make_user):
    account = payouts.open_account(payouts.organizer_party, enabled=False)
    order = payouts.stripe_paid(make_user(), 2)
    assert payouts.shop.refund(payouts.shop.owner, order["id"], [order["tickets"][0]["ticket_id"]]).status_code == 201
    assert payouts.transfers_of(order["id"])[payouts.organizer_party]["amount"] == 2375
    deliver(payouts.client, "account.updated", payouts.stub.enable(account["stripe_account_id"]))
    assert [t["amount"] for t in payouts.stub.transfers.values()] == [2375] and payouts.stub.reversals == {}
    assert payouts.shop.refund(payouts.shop.owner, order["id"]).status_code == 201
    assert payouts.stub.net_transferred(account["stripe_account_id"]) == 0


def test_a_dispute_freezes_the_order_s_pending_transfers(app, payouts, make_user):
    payouts.open_account(payouts.organizer_party)
    venue = payouts.open_account(payouts.venue_party, enabled=False)
    order = payouts.stripe_paid(make_user(), 1, lines=[{"kind": "parking", "quantity": 1}])
    dispute = payouts.stub.dispute(order["payment"]["reference"])
    assert deliver(payouts.client, "charge.dispute.created", dispute) == "dispute_opened"
    assert payouts.transfers_of(order["id"])[payouts.venue_party]["state"] == "frozen"
    deliver(payouts.client, "account.updated", payouts.stub.enable(venue["stripe_account_id"]))
    with later(app):
        payouts.send()
    assert payouts.stub.net_transferred(venue["stripe_account_id"]) == 0
    # The bank took the whole charge back: the organizer, already paid, owes its part.
    rows = payouts.report(payouts.admin)
    assert rows[(payouts.organizer_party, "EUR")]["pending"] < 0 < rows[(payouts.venue_party, "EUR")]["frozen"]
    assert sum(e["amount"] for e in payouts.ledger(order_id=order["id"])) == 0

    won = {**dispute, "status": "won"}
    assert deliver(payouts.client, "charge.dispute.closed", won) == "dispute_won"
    assert payouts.stub.net_transferred(venue["stripe_account_id"]) == 1140
    rows = payouts.report(payouts.admin)
    assert (rows[(payouts.organizer_party, "EUR")]["pending"], rows[(payouts.venue_party, "EUR")]["pending"]) == (0, 0)


def test_a_transfer_stripe_never_answered_is_parked_for_an_admin(app, payouts, make_user):
    app.config["PAYOUT_MAX_ATTEMPTS"] = 2
    payouts.open_account(payouts.organizer_party)
    buyer = make_user()
    order = payouts.shop.order(buyer, payouts.shop.hold(buyer, 1)["id"], method="stripe").json
    intent = payouts.stub.succeed(order["payment"]["reference"])
    payouts.stub.down = True
    assert deliver(payouts.client, "payment_intent.succeeded", intent) == "paid"
    assert payouts.send() == 0  # not due again before its backoff
    with later(app):
        assert payouts.send() == 1
    parked = payouts.client.get("/api/v1/admin/payouts/transfers?state=parked", headers=payouts.admin.headers).json
    assert [(t["order_id"], t["attempts"], t["amount"]) for t in parked["items"]] == [(order["id"], 2, 2375)]
    assert "APIError" in parked["items"][0]["last_error"]

    payouts.stub.down = False
    path = f"/api/v1/admin/payouts/transfers/{parked['items'][0]['id']}/retry"
    retried = payouts.client.post(path, headers=payouts.admin.headers)
    assert retried.status_code == 200 and retried.json["state"] == "succeeded"
    assert payouts.client.post(path, headers=payouts.admin.headers).status_code == 409
    assert [(t["amount"], t["transfer_group"]) for t in payouts.stub.transfers.values()] == [
        (2375, connect.transfer_group(order["id"]))]


def test_a_payment_whose_booking_died_with_its_process_is_booked_by_the_scheduler(app, payouts, make_user,
                                                                                 monkeypatch):
    account = payouts.open_account(payouts.organizer_party)

    def died(*args, **kwargs):
        raise RuntimeError("the process died after the order's commit")

    monkeypatch.setattr(booking, "book_payment", died)
    order = payouts.stripe_paid(make_user(), 2)
    assert payouts.shop.refund(payouts.shop.owner, order["id"], [order["tickets"][0]["ticket_id"]]).status_code == 201
    assert payouts.client.get(f"/api/v1/payouts/orders/{order['id']}/splits",
                              headers=payouts.admin.headers).status_code == 404
    monkeypatch.undo()
    with app.app_context():
        assert repair.repair_bookings() == 0  # the receivers may still be at it
        with later(app, repair.LAG.total_seconds() + 1):
            assert repair.repair_bookings() == 2
            assert repair.repair_bookings() == 0
    assert payouts.stub.net_transferred(account["stripe_account_id"]) == 2375
    entries = payouts.ledger(order_id=order["id"])
    assert sum(e["amount"] for e in entries) == 0
    assert sum(e["amount"] for e in entries if e["account"] == "buyer") == -2500
