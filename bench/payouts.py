"""Payouts benchmark: what booking a paid order's splits, ledger and transfers adds to settling its payment.

    .venv/bin/python bench/payouts.py [--orders 40] [--rounds 4]

Starts the Firestore and Auth emulators on free ports and the Stripe stand-in of the tests on loopback,
opens the organizer's and the venue's connected accounts, and makes orders of two tickets and a parking pass
paid with Stripe. Each round settles --orders of them the way the Stripe webhook does
(``settle_order`` in this process), half with the payouts receivers connected (splits, four ledger movements,
two transfers sent to the stand-in) and half without, interleaved, so both halves see the same emulator at the
same moment. It reports the median time per settlement of each half and their ratio, and writes them to the
"Payouts" section of bench/RESULTS.md.
"""
import argparse
import statistics
import sys
import time
from datetime import timedelta

from harness import ROOT, emulators, make_app, write_section

sys.path.insert(0, str(ROOT))

from tests.payments.stripe_stub import SECRET_KEY, WEBHOOK_SECRET, StripeStub  # noqa: E402


def prepare(app, stub, count):
    """``count`` Stripe orders awaiting payment, as (order id, total, intent id)."""
    from app.auth import CurrentUser, Role
    from app.checkout import holds
    from app.events import lifecycle, ticket_types
    from app.events import service as events
    from app.orders import service as orders
    from app.payouts import accounts
    from app.payouts import rules
    from app.timeutil import utcnow
    from app.venues import service as venues

    organizer = CurrentUser(uid="bench-organizer", email=None, role=Role.ORGANIZER)
    venue_owner = CurrentUser(uid="bench-venue-owner", email=None, role=Role.ORGANIZER)
    with app.app_context():
        venue = venues.create_venue(venue_owner, name="Bench Hall", address="1 Bench Road", city="Berlin",
                                    country="DE", capacity=5000)
        starts = utcnow() + timedelta(days=30)
        event = events.create_event(organizer, venue_id=venue["id"], title="Bench Night", category="music",
                                    starts_at=starts, ends_at=starts + timedelta(hours=3), timezone="Europe/Berlin")
        general = ticket_types.create_ticket_type(event["id"], organizer, name="General", price=2500,
                                                  currency="EUR", kind="general_admission", capacity=5000)
        lifecycle.publish_event(event["id"], organizer)
        admin = CurrentUser(uid="bench-admin", email=None, role=Role.ADMIN)
        rules.save_rule(admin, kind="ticket", event_id=event["id"], fee_basis_points=500, fee_fixed=30,
                        shares=[{"party": "organizer", "basis_points": 9000}, {"party": "venue", "basis_points": 1000}])
        for user, party in ((organizer, f"organizer:{organizer.uid}"), (venue_owner, f"venue:{venue['id']}")):
            account = accounts.open_account(party, user, account_type="express")
            stub.enable(account["stripe_account_id"])
            accounts.apply_account_update(stub.accounts[account["stripe_account_id"]],
                                          (accounts.db().collection("payment_events").document(f"bench_{party}"),
                                           {"provider": "bench"}))
        made = []
        for index in range(count):
            buyer = f"bench-buyer-{index}"
            hold = holds.place_hold(event["id"], buyer, lines=[
                {"kind": "ticket", "ticket_type_id": general["id"], "quantity": 2}])
            order = orders.create_order(buyer, hold_id=hold["id"], payment_method="stripe")
            intent = stub.succeed(order["payment"]["reference"])
            made.append((order["id"], order["total"], intent["id"]))
    return made


def settle(app, order):
    from app.orders import settlement

    order_id, total, intent_id = order
    with app.app_context():
        started = time.perf_counter()
        outcome = settlement.settle_order(order_id, provider="stripe", amount=total, currency="EUR",
                                          reference=intent_id)["outcome"]
        elapsed = time.perf_counter() - started
    assert outcome == "paid", outcome
    return elapsed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=40, help="orders settled per round, half of them booked")
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()

    from app import payouts
    from app.orders.signals import order_paid

    with emulators("boxoffice-bench-payouts-") as (stack, _, log_dir), StripeStub() as stub:
        app = make_app(log_dir, STRIPE_SECRET_KEY=SECRET_KEY, STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
                       STRIPE_API_BASE=stub.url)
        pending = prepare(app, stub, args.orders * args.rounds + 4)
        for order in pending[:4]:  # warm up both paths
            settle(app, order)
        pending = pending[4:]
        booked, bare = [], []
        for _ in range(args.rounds):
            for index in range(args.orders):
                order = pending.pop()
                if index % 2:
                    order_paid.disconnect(payouts._order_paid)
                    try:
                        bare.append(settle(app, order))
                    finally:
                        order_paid.connect(payouts._order_paid)
                else:
                    booked.append(settle(app, order))
        transfers = len(stub.transfers)
    with_payouts, without = statistics.median(booked) * 1000, statistics.median(bare) * 1000
    lines = [
        f"Command: `.venv/bin/python bench/payouts.py --orders {args.orders} --rounds {args.rounds}`",
        "",
        "| settling a Stripe payment of 2 tickets | median ms | settlements |",
        "|---|---|---|",
        f"| without payouts listening | {without:.1f} | {len(bare)} |",
        f"| with payouts: splits, ledger, 2 transfers to the stand-in | {with_payouts:.1f} | {len(booked)} |",
        "",
        f"Ratio with / without: {with_payouts / without:.2f}; Stripe transfers made: {transfers} "
        f"(2 per booked order, warm-up included).",
        "",
        "In one process, no HTTP, the two halves interleaved. What payouts adds comes after the payment's own "
        "commit (the order is paid as fast either way; the webhook answers later): the booking transaction, and "
        "per transfer a PaymentIntent read, a lease transaction, the Stripe call and the recording transaction.",
    ]
    print("\n".join(lines))
    write_section("Payouts", "\n".join(lines))


if __name__ == "__main__":
    main()
