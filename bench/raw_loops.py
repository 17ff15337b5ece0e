"""Raw Firestore loops for bench/flash_crowd.py: no HTTP, no Flask request, same emulator, same concurrency.

Each loop runs in ``processes`` processes of ``threads`` threads, as gunicorn's
workers do, and every buyer tries once:

- ``claims``: what one hold of ours sends to Firestore when nothing collides
  (the ticket type from the read cache, as a hold plans from it, a get of the
  buyer's hold slots, one batch creating the hold, a slot and a claim, each
  document built by the same functions as ours), with units dealt out in
  advance so no two buyers ever collide. No endpoint doing this work can beat
  it.
- ``transaction``: the same reads and writes in one Firestore transaction per
  buyer, units dealt out as above: the raw transaction loop the inventory
  issue's target (≥ 0.7) is set against.
- ``service``: our hold service, ``place_hold``, called in-process: the
  endpoint without HTTP, Flask and the token check. Each process takes the
  lane gunicorn would give its worker.
- ``buckets``: the design we did not choose: N stock-bucket counter documents,
  each buyer a transaction that reads a bucket, decrements it and creates
  the hold, moving to another bucket when one reads empty. A buyer is refused
  when every bucket read empty (sold out) or when the transaction gives up
  after the client library's retries (busy).
"""
import multiprocessing
import os
import queue
import random
import threading
import time
from datetime import timedelta

from google.api_core import exceptions as gexc
from google.cloud import firestore

import firestore_ops
import hold_docs
from harness import make_app

BUCKETS = "bench_stock_buckets"
JOIN_GRACE = 120


def bucket_ref(db, event_id, index):
    return db.collection(BUCKETS).document(f"{event_id}-{index}")


def run(kind, *, event_id, ticket_type_id, buyers, capacity, processes, threads, log_dir, buckets=0,
        seconds=None, max_active_holds=3, redis_url=None):
    """Run one loop; returns {"outcomes": [(outcome, started, ended)], "released": t, "ops": {...}, "cpu": s}.

    buyers: uids; with ``claims`` and ``transaction`` buyer i takes unit i. ``seconds`` bounds the run:
    buyers not started by then are left out (outcome "unserved").
    """
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(processes + 1)
    results = context.Queue()
    spec = dict(kind=kind, event_id=event_id, ticket_type_id=ticket_type_id, capacity=capacity, buckets=buckets,
                threads=threads, seconds=seconds, max_active_holds=max_active_holds, log_dir=str(log_dir),
                processes=processes, redis_url=redis_url or "")
    shares = [[(i, uid) for i, uid in enumerate(buyers) if i % processes == p] for p in range(processes)]
    workers = [context.Process(target=_process, args=(spec, lane, share, barrier, results), daemon=True)
               for lane, share in enumerate(shares)]
    for worker in workers:
        worker.start()
    barrier.wait(timeout=120)
    released = time.monotonic()
    collected = [results.get(timeout=(seconds or 600) + JOIN_GRACE) for _ in workers]
    for worker in workers:
        worker.join(timeout=10)
    ops = {}
    for result in collected:
        for k, n in result["ops"].items():
            ops[k] = ops.get(k, 0) + n
    return {"outcomes": [o for r in collected for o in r["outcomes"]], "released": released, "ops": ops,
            "cpu": sum(r["cpu"] for r in collected)}


def _process(spec, lane, share, barrier, results):
    from app.inventory.units import HINT

    tally = firestore_ops.Tally()
    os.environ["REDIS_URL"] = spec["redis_url"]  # the service caches events where gunicorn's workers do
    app = make_app(spec["log_dir"], MAX_ACTIVE_HOLDS_PER_EVENT=spec["max_active_holds"])
    HINT.set_lane(lane, spec["processes"])
    with app.app_context():
        from app.firebase import db

        # Open the channel before the start, as the gunicorn workers' warm-up run did for theirs.
        db().collection("_bench").document("warm-up").get()
    firestore_ops.install(tally)
    work = queue.SimpleQueue()
    for task in share:
        work.put(task)
    loop = {"service": _service_buyer, "claims": _claim_buyer, "transaction": _transaction_buyer,
            "buckets": _bucket_buyer}[spec["kind"]]
    empty_buckets = set()
    outcomes, lock = [], threading.Lock()
    barrier.wait(timeout=120)
    cpu_started = time.process_time()
    deadline = time.monotonic() + spec["seconds"] if spec["seconds"] else None

    def thread():
        with app.app_context():
            mine = []
            while True:
                try:
                    index, uid = work.get_nowait()
                except queue.Empty:
                    break
                if deadline and time.monotonic() > deadline:
                    mine.append(("unserved", None, None))
                    continue
                started = time.monotonic()
                outcome = loop(spec, index, uid, empty_buckets)
                mine.append((outcome, started, time.monotonic()))
            with lock:
                outcomes.extend(mine)

    pool = [threading.Thread(target=thread) for _ in range(spec["threads"])]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    results.put({"outcomes": outcomes, "ops": tally.snapshot(), "cpu": time.process_time() - cpu_started})


def _ticket_type(spec):
    from app.events import ticket_types

    return next(t for t in ticket_types.cached_live(spec["event_id"]) if t["id"] == spec["ticket_type_id"])


def _hold_unit(spec, index, uid, writer, transaction=None):
    """One hold's reads (the ticket type from the cache, the buyer's slots from Firestore), then its three
    create()s through ``writer``."""
    from app.checkout import holds
    from app.firebase import db
    from app.timeutil import utcnow

    event_id = spec["event_id"]
    ticket_type = _ticket_type(spec)
    slots = [holds.slot_ref(event_id, uid, i) for i in range(spec["max_active_holds"])]
    list(db().get_all(slots, field_paths=["live_until"], transaction=transaction))
    now = utcnow()
    for ref, document in hold_docs.one_unit_hold({"id": event_id}, ticket_type, uid, index, slot=slots[0], now=now,
                                                 expires_at=now + timedelta(minutes=10)):
        writer.create(ref, document)


def _claim_buyer(spec, index, uid, _empty):
    from app.firebase import db

    batch = db().batch()
    _hold_unit(spec, index, uid, batch)
    batch.commit()
    return "ok"


def _transaction_buyer(spec, index, uid, _empty):
    from app.firebase import db

    @firestore.transactional
    def hold_unit(transaction):
        _hold_unit(spec, index, uid, transaction, transaction)

    hold_unit(db().transaction())
    return "ok"


def _service_buyer(spec, index, uid, _empty):
    from app.checkout import holds
    from app.errors import AppError

    try:
        holds.place_hold(spec["event_id"], uid,
                         lines=[{"kind": "ticket", "ticket_type_id": spec["ticket_type_id"], "quantity": 1}])
    except AppError as exc:
        return exc.code
    return "ok"


def _bucket_buyer(spec, index, uid, empty):
    from app.checkout import holds
    from app.firebase import db
    from app.timeutil import utcnow

    client = db()
    now = utcnow()
    [(hold_ref, hold), *_] = hold_docs.one_unit_hold({"id": spec["event_id"]}, _ticket_type(spec), uid, 0,
                                                     slot=holds.slot_ref(spec["event_id"], uid, 0), now=now,
                                                     expires_at=now + timedelta(minutes=10))

    @firestore.transactional
    def take(transaction, ref):
        remaining = ref.get(transaction=transaction).get("remaining")
        if remaining <= 0:
            return False
        transaction.update(ref, {"remaining": remaining - 1})
        transaction.create(hold_ref, hold)
        return True

    tried = set()
    while True:
        open_buckets = [b for b in range(spec["buckets"]) if b not in empty and b not in tried]
        if not open_buckets:
            return "sold_out"
        bucket = random.choice(open_buckets)
        try:
            if take(client.transaction(), bucket_ref(client, spec["event_id"], bucket)):
                return "ok"
        except (ValueError, gexc.GoogleAPICallError):
            # ValueError is the library giving up after its retries; a read can also fail ABORTED.
            return "busy"
        tried.add(bucket)
        empty.add(bucket)


def fill_buckets(db, event_id, capacity, count):
    batch = db.batch()
    for index in range(count):
        share = capacity // count + (1 if index < capacity % count else 0)
        batch.set(bucket_ref(db, event_id, index), {"remaining": share, "initial": share})
    batch.commit()
