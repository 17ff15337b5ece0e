"""Dashboard benchmark: an organizer's dashboard from the sales counters, against reading every order.

    .venv/bin/python bench/dashboard.py [--events 20] [--orders 20000] [--rounds 5]

Starts the Firestore and Auth emulators, and through the services creates the
demo organizer's events (one published event each) with one paid order each.
Each event's order is then copied, as the orders domain wrote it, under new
ids and payment days spread over the last 30 days (batched writes), until the
organizer has ``--orders`` paid orders, and each copy is counted by the same
``record_sale`` the ``order_paid`` receiver calls. Then, in interleaved
rounds in this process:
- ``get_dashboard`` for the organizer (all-time totals, a 30-day series, by
  kind and ticket type, check-in progress);
- the same totals by reading every order of the organizer's events (what
  ``GET /events/<id>/stats`` did before, once per event).
Firestore reads are counted per request at the client (bench/firestore_ops.py).
Results go to stdout and to the "Dashboard" section of bench/RESULTS.md.
"""
import argparse
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from google.cloud.firestore_v1 import FieldFilter

import firestore_ops
from harness import emulators, make_app, quantiles_ms, write_section

BATCH = 500
COUNTING_THREADS = 8


def seed(app, events_wanted, orders_wanted):
    """The organizer's uid and event ids, with ``orders_wanted`` paid orders spread over the events."""
    from app.auth import CurrentUser, Role
    from app.checkout import holds
    from app.events import lifecycle, ticket_types
    from app.events import service as events
    from app.firebase import db
    from app.orders import service as orders
    from app.orders import settlement
    from app.orders.records import ORDERS, order_ref
    from app.reports import counters
    from app.seed import seed_users
    from app.timeutil import utcnow
    from app.venues import service as venues

    with app.app_context():
        uids = seed_users()
        organizer = CurrentUser(uid=uids[Role.ORGANIZER], email=None, role=Role.ORGANIZER)
        venue = venues.create_venue(organizer, name="Bench Hall", address="1 Bench Street", city="Berlin",
                                    country="DE", capacity=100_000)
        starts = (utcnow() + timedelta(days=30)).replace(microsecond=0)
        templates = []
        for n in range(events_wanted):
            event = events.create_event(organizer, venue_id=venue["id"], title=f"Bench night {n}",
                                        category="music", starts_at=starts + timedelta(days=n),
                                        ends_at=starts + timedelta(days=n, hours=3), timezone="Europe/Berlin")
            ticket_type = ticket_types.create_ticket_type(event["id"], organizer, name="General admission",
                                                          price=2500, currency="EUR", kind="general_admission",
                                                          capacity=100)
            lifecycle.publish_event(event["id"], organizer)
            hold = holds.place_hold(event["id"], uids[Role.CUSTOMER], idempotency_key=f"bench-{n}",
                                    lines=[{"kind": "ticket", "ticket_type_id": ticket_type["id"], "quantity": 2}])
            order = orders.create_order(uids[Role.CUSTOMER], hold_id=hold["id"], payment_method="manual",
                                        idempotency_key=f"bench-{n}")
            settlement.mark_paid(order["id"], organizer)
            templates.append(order_ref(order["id"]).get().to_dict())
        copies = []
        collection = db().collection(ORDERS)
        now = utcnow()
        for n in range(orders_wanted - events_wanted):
            template = templates[n % events_wanted]
            ref = collection.document()
            moment = now - timedelta(days=n % 30, minutes=n % 600)
            copies.append({**template, "id": ref.id, "created_at": moment, "paid_at": moment})
        for start in range(0, len(copies), BATCH):
            batch = db().batch()
            for order in copies[start:start + BATCH]:
                batch.create(collection.document(order["id"]), order)
            batch.commit()

    def count(order):
        with app.app_context():
            return counters.record_sale(order)

    with ThreadPoolExecutor(COUNTING_THREADS) as pool:
        counted = sum(pool.map(count, copies))
    assert counted == len(copies), counted
    return organizer, [t["event_id"] for t in templates]


def totals_from_every_order(event_ids):
    """Orders paid, gross and refunds of the events, as the old stats computed them: every order read."""
    from app.firebase import db
    from app.orders.records import ORDERS, PAID_STATES

    totals = {"orders_paid": 0, "gross": 0, "refunds": 0}
    for event_id in event_ids:
        query = db().collection(ORDERS).where(filter=FieldFilter("event_id", "==", event_id))
        for doc in query.select(["state", "units", "items", "payment", "refunded_amount"]).stream():
            order = doc.to_dict()
            if order["state"] in PAID_STATES:
                totals["orders_paid"] += 1
                totals["gross"] += order["payment"].get("amount", 0)
                totals["refunds"] += order["refunded_amount"]
    return totals


def measure(app, organizer, event_ids, rounds):
    from app.reports import dashboard

    tally = firestore_ops.Tally()
    firestore_ops.install(tally)
    ways = {"dashboard (counters)": lambda: dashboard.get_dashboard(organizer),
            "every order read": lambda: totals_from_every_order(event_ids)}
    samples = {name: {"seconds": [], "reads": []} for name in ways}
    answers = {}
    with app.app_context():
        for name, way in ways.items():
            answers[name] = way()
        for _ in range(rounds):
            for name, way in ways.items():
                before = tally.snapshot()
                started = time.perf_counter()
                way()
                samples[name]["seconds"].append(time.perf_counter() - started)
                samples[name]["reads"].append(firestore_ops.reads(firestore_ops.diff(tally.snapshot(), before)))
    [money] = answers["dashboard (counters)"]["totals"]
    read = answers["every order read"]
    assert (money["orders"], money["gross"]) == (read["orders_paid"], read["gross"]), (money, read)
    return {name: {"reads": statistics.median(s["reads"]), "p50": quantiles_ms(s["seconds"])[0]}
            for name, s in samples.items()}, money


def report(results, money, args):
    fast, slow = results["dashboard (counters)"], results["every order read"]
    lines = [
        "## Dashboard", "",
        f"Command: `.venv/bin/python bench/dashboard.py --events {args.events} --orders {args.orders} "
        f"--rounds {args.rounds}`", "",
        f"One organizer, {args.events} events, {args.orders} paid orders ({money['units']} tickets, gross "
        f"{money['gross']} {money['currency']} minor units) against the Firestore emulator, in this process; "
        f"medians of {args.rounds} interleaved rounds. Reads are documents Firestore returned or looked up.", "",
        "| request | Firestore reads | p50 ms |", "|---|---:|---:|",
        *(f"| {name} | {r['reads']:.0f} | {r['p50']:.1f} |" for name, r in results.items()),
        "", "| ratio (every order read / dashboard) | measured |", "|---|---:|",
        f"| reads | {slow['reads'] / fast['reads']:.0f}x |",
        f"| p50 | {slow['p50'] / fast['p50']:.1f}x |", "",
    ]
    section = "\n".join(lines)
    print(section)
    write_section("Dashboard", section.split("\n", 2)[2])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with emulators("bench-dashboard-") as (_, _redis, log_dir):
        app = make_app(log_dir, RATELIMIT_ENABLED=False)
        organizer, event_ids = seed(app, args.events, args.orders)
        results, money = measure(app, organizer, event_ids, args.rounds)
    report(results, money, args)


if __name__ == "__main__":
    main()
