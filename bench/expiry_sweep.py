"""Expiry-sweep benchmark: what the scheduler's expire_holds costs per expired hold, at two sizes.

    .venv/bin/python bench/expiry_sweep.py [--active 10000] [--sizes 1000,10000]

Starts the Firestore and Auth emulators on free ports, creates a published
event through the app's services, and writes --active unexpired holds, then
for each size that many expired ones, straight into Firestore in batches, in
the shape place_hold writes (hold, hold slot and one claim per unit, built
with app/inventory's own helpers and checked field for field against a hold
placed through place_hold). Each size is swept by
app.checkout.service.expire_holds() in this process, timed, with its
Firestore calls counted (bench/firestore_ops.py). The cost per expired hold
should not grow with the number of holds, and documents read should follow
the expired holds, not all of them. Results go to stdout and to the "Expiry
sweep" section of bench/RESULTS.md.
"""
import argparse
import os
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import firestore_ops
import hold_docs
from harness import emulators, make_app, write_section

# Small batches written in parallel seed fastest on the emulator (measured: about 1,100 holds/s).
BATCH_HOLDS = 50
SEED_THREADS = 8
WARM_UP_HOLDS = 200
FLAT_TOLERANCE = 1.5


def seed(app, event, ticket_type, first, count, *, expires_at, now):
    """Write holds first..first+count-1, each of one unit held by its own buyer, as place_hold would."""
    def write(start):
        with app.app_context():
            _write_batch(event, ticket_type, range(start, min(start + BATCH_HOLDS, first + count)), expires_at, now)

    with ThreadPoolExecutor(SEED_THREADS) as pool:
        list(pool.map(write, range(first, first + count, BATCH_HOLDS)))


def _write_batch(event, ticket_type, unit_numbers, expires_at, now):
    from app.checkout import holds
    from app.firebase import db

    batch = db().batch()
    for unit in unit_numbers:
        buyer = f"sweep-buyer-{unit}"
        for ref, document in hold_docs.one_unit_hold(event, ticket_type, buyer, unit,
                                                     slot=holds.slot_ref(event["id"], buyer, 0), now=now,
                                                     expires_at=expires_at):
            batch.create(ref, document)
    batch.commit()


def shapes(hold_id):
    """{kind: sorted field names} of a hold and its slot and claim documents."""
    from app.checkout import holds
    from app.firebase import db
    from app.inventory import units

    hold = holds.hold_ref(hold_id).get().to_dict()
    slot = db().collection(holds.HOLD_SLOTS).document(hold["slot_id"]).get().to_dict()
    claim = units.unit_ref(hold["unit_ids"][0]).get().to_dict()
    return {"hold": sorted(hold), "item": sorted(hold["items"][0]), "slot": sorted(slot), "claim": sorted(claim)}


def check_shape(app, event, ticket_type, shape_type, now):
    """Seed one unexpired hold and place one through place_hold (on another ticket type, so their units
    cannot meet); stop unless their documents have exactly the same fields."""
    from google.cloud.firestore_v1 import FieldFilter

    from app.checkout.holds import HOLDS, place_hold
    from app.firebase import db

    placed = place_hold(event["id"], "sweep-shape-check", lines=[
        {"kind": "ticket", "ticket_type_id": shape_type["id"], "quantity": 1}])
    seed(app, event, ticket_type, 0, 1, expires_at=now + timedelta(hours=1), now=now)
    seeded = next(d.id for d in db().collection(HOLDS)
                  .where(filter=FieldFilter("buyer_uid", "==", "sweep-buyer-0")).stream())
    if shapes(placed["id"]) != shapes(seeded):
        raise SystemExit(f"seeded holds differ from place_hold's: {shapes(placed['id'])} != {shapes(seeded)}")


def count_active(event_id):
    from google.cloud.firestore_v1 import FieldFilter
    from google.cloud.firestore_v1.aggregation import AggregationQuery

    from app.checkout.holds import HOLDS
    from app.firebase import db

    query = (db().collection(HOLDS).where(filter=FieldFilter("event_id", "==", event_id))
             .where(filter=FieldFilter("state", "==", "active")))
    return AggregationQuery(query).count(alias="n").get()[0][0].value


def sweep(tally, expected):
    from app.checkout import service

    before = tally.snapshot()
    started = time.perf_counter()
    ended = service.expire_holds()
    seconds = time.perf_counter() - started
    ops = firestore_ops.diff(tally.snapshot(), before)
    if ended != expected:
        raise SystemExit(f"expire_holds ended {ended} holds, expected {expected}")
    return {"ended": ended, "seconds": seconds, "ms_per_hold": seconds * 1000 / ended,
            "reads": firestore_ops.reads(ops), "rpcs": firestore_ops.rpcs(ops), "writes": ops.get("write", 0),
            "ops": ops}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--active", type=int, default=10_000)
    parser.add_argument("--sizes", default="1000,10000", help="expired holds per sweep, comma-separated")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    started, load_before = time.monotonic(), os.getloadavg()[0]
    with emulators("bench-expiry-sweep-") as (stack, _, log_dir):
        app = make_app(log_dir)
        with app.app_context():
            from app.auth import CurrentUser, Role
            from app.events import lifecycle, ticket_types
            from app.events import service as events
            from app.timeutil import utcnow
            from app.venues import service as venues

            organizer = CurrentUser(uid="sweep-organizer", email=None, role=Role.ORGANIZER)
            total = args.active + WARM_UP_HOLDS + sum(sizes)
            venue = venues.create_venue(organizer, name="Sweep Hall", address="1 Cron Street", city="Berlin",
                                        country="DE", capacity=total + 1)
            starts = utcnow().replace(microsecond=0) + timedelta(days=30)
            event = events.create_event(organizer, venue_id=venue["id"], title="Sweep Night", category="music",
                                        starts_at=starts, ends_at=starts + timedelta(hours=3),
                                        timezone="Europe/Berlin")
            ticket_type = ticket_types.create_ticket_type(
                event["id"], organizer, name="General admission", price=2500, currency="EUR",
                kind="general_admission", capacity=total)
            shape_type = ticket_types.create_ticket_type(
                event["id"], organizer, name="Shape check", price=2500, currency="EUR",
                kind="general_admission", capacity=1)
            event = lifecycle.publish_event(event["id"], organizer)

            now = utcnow()
            check_shape(app, event, ticket_type, shape_type, now)
            # Two unexpired holds so far: the seeded one and the one place_hold placed.
            seed(app, event, ticket_type, 1, args.active - 2, expires_at=now + timedelta(hours=1), now=now)
            tally = firestore_ops.Tally()
            firestore_ops.install(tally)
            results, first = [], args.active - 1
            # The first sweep warms the emulator's JIT and the client's channel; it is not reported.
            for size in [WARM_UP_HOLDS, *sizes]:
                seed_started = time.perf_counter()
                seed(app, event, ticket_type, first, size, expires_at=utcnow() - timedelta(minutes=1),
                     now=utcnow() - timedelta(minutes=11))
                seeded = time.perf_counter() - seed_started
                first += size
                result = sweep(tally, size)
                result.update(size=size, seeded_s=seeded, active_after=count_active(event["id"]))
                if result["active_after"] != args.active:
                    raise SystemExit(f"the sweep touched unexpired holds: {result['active_after']} active left")
                results.append(result)
                print(f"{size} expired: seeded in {seeded:.1f} s, swept in {result['seconds']:.1f} s, "
                      f"{result['reads']} reads", flush=True)
    report(results[1:], args, time.monotonic() - started, (load_before, os.getloadavg()[0]))


def report(results, args, seconds, load):
    small, large = results[0], results[-1]
    growth = large["ms_per_hold"] / small["ms_per_hold"]
    lines = [
        f"Command: `.venv/bin/python bench/expiry_sweep.py --active {args.active} --sizes {args.sizes}` "
        f"(the whole run, seeding included: {seconds:.0f} s)", "",
        f"{os.cpu_count()} CPUs shared by the Firestore emulator, this process and whatever else the machine ran "
        f"(1-minute load average {load[0]:.1f} at the start, {load[1]:.1f} at the end). "
        f"{args.active} unexpired holds stay in place throughout; each row adds that many expired holds "
        "(written in batches in place_hold's shape, checked against a real one) and times one "
        "`app.checkout.service.expire_holds()` call in this process.", "",
        "| expired holds | swept | seconds | ms / expired hold | docs read | reads / expired hold | "
        "RPCs / expired hold | writes / expired hold | unexpired holds left active |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        *(f"| {r['size']} | {r['ended']} | {r['seconds']:.1f} | {r['ms_per_hold']:.2f} | {r['reads']} | "
          f"{r['reads'] / r['ended']:.2f} | {r['rpcs'] / r['ended']:.2f} | {r['writes'] / r['ended']:.2f} | "
          f"{r['active_after']} |" for r in results),
        "",
        f"ms per expired hold at {large['size']} over at {small['size']}: **{growth:.2f}** "
        f"(flat: ≤ {FLAT_TOLERANCE}). Reads counted as in the flash-crowd benchmark (documents a get asked "
        "for and documents a query returned, by bench/firestore_ops.py around the sweep only).",
    ]
    body = "\n".join(lines)
    print("## Expiry sweep\n\n" + body)
    write_section("Expiry sweep", body)
    raise SystemExit(0 if growth <= FLAT_TOLERANCE else 1)


if __name__ == "__main__":
    main()
