"""Flash-crowd benchmark: buyers racing for one general-admission ticket type over gunicorn.

    .venv/bin/python bench/flash_crowd.py [--capacity 500] [--buyers 700] [--threads 16] [--rounds 3]
                                          [--bucket-seconds 20] [--cache redis|simple]

Starts the Firestore and Auth emulators on free ports, creates an organizer, a
venue and, per run, a published event with one general-admission ticket type
of --capacity units, all through the app's services; signs up --buyers buyer
accounts on the Auth emulator; serves bench.wsgi:app under gunicorn (2 gthread
workers of --threads threads, each counting its Firestore calls). Then, in one
run against the same emulator:

- one sell-out: --buyers buyers for --capacity units;
- rounds of --capacity buyers released at once, each POSTing one hold of one
  unit, interleaved with loops at the same concurrency (2 processes x
  --threads, bench/raw_loops.py): our hold service called without HTTP, and
  two raw Firestore loops sending what one hold sends, as one batch and in one
  transaction (the loop the ratio target is set against);
- the stock-bucket alternative, N = 1, 4, 16 counter documents, as raw loops
  of --capacity buyers, each bounded by --bucket-seconds.

Each run is audited from Firestore afterwards (claims, holds, buckets) and, for
ours, from the availability endpoint. Results go to stdout and to the "Flash
crowd" section of bench/RESULTS.md; the exit status is 1 when anything was
oversold, one of our buyers was refused while units were free, or the ratio
missed its target.
"""
import argparse
import base64
import http.client
import json
import os
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import requests

import cpu_parts
import firestore_ops
import flash_report
import raw_loops
from harness import children, cpu_seconds, emulators, make_app, quantiles_ms, served

BUCKET_COUNTS = (1, 4, 16)
RATIO_TARGET = 0.7
WARM_UP_BUYERS = 64
PASSWORD = "bench-pass-123"


def _segment(part):
    return base64.urlsafe_b64encode(json.dumps(part).encode()).decode().rstrip("=")


def mint_buyers(project_id, count):
    """(uid, ID token) of ``count`` buyers, with tokens shaped as the Auth emulator issues them (unsigned,
    which the app accepts only with FIREBASE_AUTH_EMULATOR_HOST set): signing thousands of accounts up on
    the emulator would take minutes, and a hold never looks the account up."""
    now = int(time.time())
    header = _segment({"alg": "none", "typ": "JWT"})
    buyers = []
    for index in range(count):
        uid = f"bench-buyer-{index:05d}"
        claims = {"iss": f"https://securetoken.google.com/{project_id}", "aud": project_id, "sub": uid,
                  "user_id": uid, "iat": now - 5, "auth_time": now - 5, "exp": now + 3600,
                  "firebase": {"sign_in_provider": "password", "identities": {}}}
        buyers.append((uid, f"{header}.{_segment(claims)}."))
    return buyers


def sign_up_buyers(auth_host, count):
    """(uid, ID token) of ``count`` new accounts, signed up on the Auth emulator in parallel: for benchmarks
    whose buyers go on to order, which reads the buyer's account."""
    url = f"http://{auth_host}/identitytoolkit.googleapis.com/v1/accounts:signUp"
    local = threading.local()

    def sign_up(index):
        session = local.__dict__.setdefault("session", requests.Session())
        response = session.post(url, params={"key": "bench"}, timeout=30, json={
            "email": f"buyer{index}@bench.test", "password": PASSWORD, "returnSecureToken": True})
        response.raise_for_status()
        return response.json()["localId"], response.json()["idToken"]

    with ThreadPoolExecutor(16) as pool:
        return list(pool.map(sign_up, range(count)))


class Catalog:
    """An organizer and a venue; a fresh published sale per run, made through the services."""

    def __init__(self, app):
        from app.auth import CurrentUser, Role
        from app.firebase import get_firebase
        from app.users import service as users
        from app.venues import service as venues

        self.app = app
        with app.app_context():
            account = get_firebase().create_user(email="organizer@bench.test", password=PASSWORD)
            users.set_role(account.uid, Role.ORGANIZER)
            self.organizer = CurrentUser(uid=account.uid, email=account.email, role=Role.ORGANIZER)
            self.venue_id = venues.create_venue(self.organizer, name="Bench Arena", address="1 Loop Road",
                                                city="Berlin", country="DE", capacity=100_000)["id"]

    def sale(self, title, capacity):
        """(event id, ticket type id) of a published event selling ``capacity`` general-admission units."""
        from app.events import lifecycle, ticket_types
        from app.events import service as events
        from app.timeutil import utcnow

        with self.app.app_context():
            starts = utcnow().replace(microsecond=0) + timedelta(days=30)
            event = events.create_event(self.organizer, venue_id=self.venue_id, title=title, category="music",
                                        starts_at=starts, ends_at=starts + timedelta(hours=3),
                                        timezone="Europe/Berlin")
            ticket_type = ticket_types.create_ticket_type(
                event["id"], self.organizer, name="General admission", price=2500, currency="EUR",
                kind="general_admission", capacity=capacity, per_order_limit=4)
            lifecycle.publish_event(event["id"], self.organizer)
        return event["id"], ticket_type["id"]


def crowd(port, event_id, ticket_type_id, tokens, *, late_tokens=(), capacity=None, bodies=None):
    """Release one thread per buyer at once; each POSTs one hold, of one ticket or of ``bodies[index]``.
    Returns (outcomes, release time), the late buyers' outcomes last.

    ``late_tokens`` buyers arrive after the sell-out: they are released the moment ``capacity`` holds have
    succeeded, while the crowd's last requests are still being answered.
    """
    path = f"/api/v1/events/{event_id}/holds"
    body = json.dumps({"items": [{"ticket_type_id": ticket_type_id, "quantity": 1}]})
    tokens = list(tokens) + list(late_tokens)
    early = len(tokens) - len(late_tokens)
    barrier = threading.Barrier(early + 1)
    sold_out, lock, held = threading.Event(), threading.Lock(), [0]
    outcomes = [None] * len(tokens)

    def buyer(index):
        if index < early:
            barrier.wait()
        else:
            sold_out.wait()
        started = time.monotonic()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        try:
            connection.request("POST", path, body=bodies[index] if bodies else body, headers={
                "Authorization": f"Bearer {tokens[index]}", "Content-Type": "application/json"})
            response = connection.getresponse()
            payload = response.read()
            outcome = "ok" if response.status == 201 else json.loads(payload)["error"]["code"]
        except (OSError, http.client.HTTPException, ValueError, KeyError) as exc:
            outcome = f"client error: {type(exc).__name__}"
        finally:
            connection.close()
        outcomes[index] = (outcome, started, time.monotonic())
        if outcome == "ok":
            with lock:
                held[0] += 1
                if capacity is not None and held[0] >= capacity:
                    sold_out.set()

    threads = [threading.Thread(target=buyer, args=(i,)) for i in range(len(tokens))]
    for thread in threads:
        thread.start()
    barrier.wait()
    released = time.monotonic()
    for thread in threads[:early]:
        thread.join()
    sold_out.set()  # a crowd that never sold out still lets its late buyers go
    for thread in threads[early:]:
        thread.join()
    return outcomes, released


def summarize(outcomes, released, capacity, ops):
    """Throughput, latency, refusals and Firestore operations of one run, from the buyers' side."""
    ok = [(s, e) for o, s, e in outcomes if o == "ok"]
    refused = {}
    for outcome, _, _ in outcomes:
        if outcome not in ("ok", "unserved"):
            refused[outcome] = refused.get(outcome, 0) + 1
    answered = [(s, e) for o, s, e in outcomes if o != "unserved"]
    p50, p99 = quantiles_ms([e - s for s, e in ok])
    # Units are never released during a run. So when fewer buyers got one than could have, every
    # refusal turned away a free unit; otherwise a refusal did when it came back before another
    # buyer's successful request had even started.
    last_ok_start = max((s for s, _ in ok), default=released)
    if len(ok) < min(capacity, len(answered)):
        refused_while_free = [o for o, _, _ in outcomes if o not in ("ok", "unserved")]
    else:
        refused_while_free = [o for o, _, e in outcomes if o not in ("ok", "unserved") and e < last_ok_start]
    elapsed = max((e for _, e in ok), default=released) - released
    holds = max(len(ok), 1)
    return {
        "buyers": len(outcomes), "ok": len(ok), "refused": refused,
        "false_sold_outs": refused_while_free.count("sold_out"), "refused_while_free": len(refused_while_free),
        "unserved": len(outcomes) - len(answered), "holds_per_s": len(ok) / elapsed if ok else 0.0,
        "makespan": max((e for _, e in answered), default=released) - released, "p50": p50, "p99": p99,
        "ops": ops, "rpcs_per_hold": firestore_ops.rpcs(ops) / holds,
        "reads_per_hold": firestore_ops.reads(ops) / holds, "writes_per_hold": ops.get("write", 0) / holds,
    }


def audit_claims(app, event_id, ticket_type_id, capacity):
    """What Firestore holds after a run: live claims and active holds, and whether they agree."""
    from google.cloud.firestore_v1 import FieldFilter

    from app.checkout.holds import HOLDS
    from app.firebase import db
    from app.inventory import units
    from app.timeutil import utcnow

    with app.app_context():
        now = utcnow()
        claims = [d.to_dict() for d in db().collection(units.UNITS)
                  .where(filter=FieldFilter("pool", "==", ticket_type_id)).stream()]
        holds = [d.to_dict() for d in db().collection(HOLDS)
                 .where(filter=FieldFilter("event_id", "==", event_id)).stream()]
    live = [c for c in claims if c["live_until"] > now]
    active = {h["id"]: h for h in holds if h["state"] == "active" and h["expires_at"] > now}
    held = sum(line["quantity"] for h in active.values() for line in h["items"])
    stray = sum(1 for c in live if c["hold_id"] not in active or not 0 <= c["unit"] < capacity)
    return {"claims": len(live), "held": held, "stray": stray,
            "oversold": max(0, len(live) - capacity, held - capacity)}


def audit_buckets(app, event_id, count, capacity):
    from google.cloud.firestore_v1 import FieldFilter

    from app.checkout.holds import HOLDS
    from app.firebase import db

    with app.app_context():
        buckets = [raw_loops.bucket_ref(db(), event_id, i).get().to_dict() for i in range(count)]
        holds = len(list(db().collection(HOLDS).where(filter=FieldFilter("event_id", "==", event_id))
                         .select([]).stream()))
    taken = sum(b["initial"] - b["remaining"] for b in buckets)
    return {"claims": taken, "held": holds, "stray": abs(taken - holds),
            "oversold": max(0, taken - capacity, holds - capacity)}


def remaining_units(port, event_id):
    body = requests.get(f"http://127.0.0.1:{port}/api/v1/events/{event_id}/availability", timeout=30).json()
    return body["ticket_types"][0]["remaining"]


class Runs:
    """The runs of one benchmark, sharing the emulators, the catalog and gunicorn."""

    def __init__(self, args, stack, catalog, log_dir, redis_url):
        self.args, self.stack, self.catalog, self.log_dir, self.redis_url = args, stack, catalog, log_dir, redis_url
        self.server = None

    def http(self, title, capacity, tokens, late_tokens=()):
        port, emulator = self.server.port, self.stack.pids["firestore"]
        workers = children(self.server.pid)
        event_id, ticket_type_id = self.catalog.sale(title, capacity)
        before, parts_before = firestore_ops.of_server(port), cpu_parts.of_server(port)
        cpu = (cpu_seconds([os.getpid()]), cpu_seconds(workers), cpu_seconds([emulator]))
        outcomes, released = crowd(port, event_id, ticket_type_id, tokens, late_tokens=late_tokens,
                                   capacity=capacity)
        cpu = {name: after - was for name, after, was in zip(
            ("client", "app", "emulator"),
            (cpu_seconds([os.getpid()]), cpu_seconds(workers), cpu_seconds([emulator])), cpu)}
        ops = firestore_ops.diff(firestore_ops.of_server(port), before)
        late = outcomes[len(outcomes) - len(late_tokens):] if late_tokens else []
        outcomes = outcomes[:len(outcomes) - len(late_tokens)]
        result = summarize(outcomes, released, capacity, ops)
        result["parts"] = cpu_parts.per_hold(firestore_ops.diff(cpu_parts.of_server(port), parts_before),
                                             cpu["app"])
        if late:
            arrived = min(s for _, s, _ in late)
            result["late"] = {"answers": sorted({o for o, _, _ in late}),
                              "p50": quantiles_ms([e - s for _, s, e in late])[0],
                              "p99": quantiles_ms([e - s for _, s, e in late])[1], "buyers": len(late),
                              "behind": sum(1 for _, _, e in outcomes if e > arrived)}
        result.update(cpu=cpu, event_id=event_id, ticket_type_id=ticket_type_id)
        result["audit"] = audit_claims(self.catalog.app, event_id, ticket_type_id, capacity)
        result["remaining"] = remaining_units(port, event_id)
        soldout = [e - s for o, s, e in outcomes if o == "sold_out"]
        result["sold_out_p50"], result["sold_out_p99"] = quantiles_ms(soldout) if soldout else (None, None)
        return result

    def one_at_a_time(self, result, tokens):
        """Latency and Firestore operations of requests sent one after another to a finished run's sale."""
        port = self.server.port
        before = firestore_ops.of_server(port)
        answers = [crowd(port, result["event_id"], result["ticket_type_id"], [token])[0][0] for token in tokens]
        ops = firestore_ops.diff(firestore_ops.of_server(port), before)
        return {"answers": sorted({o for o, _, _ in answers}),
                "ms": statistics.median(e - s for _, s, e in answers) * 1000,
                "reads": firestore_ops.reads(ops) / len(tokens), "rpcs": firestore_ops.rpcs(ops) / len(tokens)}

    def burst(self, result, tokens):
        """Latency of ``tokens`` buyers released at once on a finished run's sale, with no crowd ahead of them."""
        outcomes = crowd(self.server.port, result["event_id"], result["ticket_type_id"], [], late_tokens=tokens)[0]
        p50, p99 = quantiles_ms([e - s for _, s, e in outcomes])
        return {"answers": sorted({o for o, _, _ in outcomes}), "p50": p50, "p99": p99, "buyers": len(tokens)}

    def raw(self, title, uids, *, kind="claims", buckets=0, capacity=None):
        args, capacity = self.args, capacity or self.args.capacity
        event_id, ticket_type_id = self.catalog.sale(title, capacity)
        if buckets:
            from app.firebase import db

            with self.catalog.app.app_context():
                raw_loops.fill_buckets(db(), event_id, capacity, buckets)
        emulator = self.stack.pids["firestore"]
        emulator_cpu = cpu_seconds([emulator])
        run = raw_loops.run("buckets" if buckets else kind, event_id=event_id, ticket_type_id=ticket_type_id,
                            buyers=uids, capacity=capacity, processes=args.workers, threads=args.threads,
                            log_dir=self.log_dir, buckets=buckets, seconds=args.bucket_seconds if buckets else None,
                            redis_url=self.redis_url)
        result = summarize(run["outcomes"], run["released"], capacity, run["ops"])
        result["cpu"] = {"loop": run["cpu"], "emulator": cpu_seconds([emulator]) - emulator_cpu}
        result["audit"] = (audit_buckets(self.catalog.app, event_id, buckets, capacity) if buckets
                           else audit_claims(self.catalog.app, event_id, ticket_type_id, capacity))
        return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--capacity", type=int, default=500)
    parser.add_argument("--buyers", type=int, default=700, help="buyers in the sell-out run (> capacity)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers, and raw-loop processes")
    parser.add_argument("--threads", type=int, default=16, help="threads per worker, and per raw-loop process")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--bucket-seconds", type=float, default=20)
    parser.add_argument("--cache", choices=("redis", "simple"), default="redis")
    parser.add_argument("--late-buyers", type=int, default=100,
                        help="buyers released in the sell-out the moment the last unit is held")
    args = parser.parse_args()
    threading.stack_size(512 * 1024)  # one thread per buyer: keep their stacks small
    started, load_before = time.monotonic(), os.getloadavg()[0]
    results = {"ours": [], "service": [], "raw": [], "transaction": [], "sellout": None, "buckets": {}}
    with emulators("bench-flash-crowd-", redis=args.cache == "redis") as (stack, redis_url, log_dir):
        print(f"logs: {log_dir}", flush=True)
        catalog = Catalog(make_app(log_dir))
        buyers = mint_buyers(catalog.app.config["FIREBASE_PROJECT_ID"],
                             max(args.buyers, args.capacity) + WARM_UP_BUYERS + args.late_buyers)
        warm, buyers = buyers[:WARM_UP_BUYERS], buyers[WARM_UP_BUYERS:]
        tokens, uids = [t for _, t in buyers], [u for u, _ in buyers]
        late_tokens = tokens[len(tokens) - args.late_buyers:]
        runs = Runs(args, stack, catalog, log_dir, redis_url)
        env = {"BENCH_COUNT_FIRESTORE": "1", "BENCH_CPU_PARTS": "1", "HOLD_TTL_SECONDS": "600",
               "MAX_ACTIVE_HOLDS_PER_EVENT": "3"}
        with served(stack, log_dir, redis_url=redis_url, workers=args.workers, threads=args.threads,
                    env=env) as runs.server:
            runs.http("Warm-up", WARM_UP_BUYERS, [t for _, t in warm])
            for kind in ("service", "claims", "transaction"):
                runs.raw(f"Warm-up {kind}", [u for u, _ in warm], kind=kind, capacity=WARM_UP_BUYERS)
            # First, while the emulator holds few claims: it answers a count by scanning the whole collection.
            results["sellout"] = runs.http("Sell-out", args.capacity, tokens[:args.buyers], late_tokens)
            # Warm-up buyers hold nothing in the sold-out sale: what one more buyer costs on an idle server.
            results["late_buyer"] = runs.one_at_a_time(results["sellout"], [t for _, t in warm][:5])
            results["late_burst"] = runs.burst(results["sellout"], late_tokens)
            kinds = ("ours", "service", "raw", "transaction")
            for round_ in range(args.rounds):
                # Rotating which goes first keeps drift on a shared machine out of the ratios.
                for kind in kinds[round_ % 4:] + kinds[:round_ % 4]:
                    results[kind].append(
                        runs.http(f"Ours {round_}", args.capacity, tokens[:args.capacity]) if kind == "ours"
                        else runs.raw(f"Raw {kind} {round_}", uids[:args.capacity],
                                      kind="claims" if kind == "raw" else kind))
                print(f"round {round_}: " + ", ".join(f"{kind} {results[kind][-1]['holds_per_s']:.0f} holds/s"
                                                      for kind in kinds), flush=True)
        for count in BUCKET_COUNTS:
            results["buckets"][count] = runs.raw(f"Buckets {count}", uids[:args.capacity], buckets=count)
            print(f"{count} bucket(s): {results['buckets'][count]['holds_per_s']:.1f} holds/s", flush=True)
    for name, ours, kind in (("ratios", "ours", "transaction"), ("ceiling_ratios", "ours", "raw"),
                             ("service_ratios", "service", "transaction")):
        results[name] = [o["holds_per_s"] / r["holds_per_s"] for o, r in zip(results[ours], results[kind])]
    results["seconds"] = time.monotonic() - started
    results["load"] = (load_before, os.getloadavg()[0])
    passed = flash_report.report(results, args, RATIO_TARGET)
    raise SystemExit(0 if passed else 1)


if __name__ == "__main__":
    main()
