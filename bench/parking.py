"""Match-day rush: drivers racing for the spaces of one parking lot over gunicorn, beside the ticket flash crowd.

    .venv/bin/python bench/parking.py [--spaces 200] [--drivers 300] [--hours 6] [--threads 16] [--rounds 3]
                                      [--cache redis|simple]

Starts the Firestore and Auth emulators on free ports, creates an organizer and a
venue through the app's services (bench/flash_crowd.py's ``Catalog``), signs up
--drivers accounts, and serves bench.wsgi:app under gunicorn (2 gthread workers of
--threads threads, counting their Firestore calls). Then, per round, in one run
against the same emulator and server, in alternating order:

- the parking rush: a published event and a lot of --spaces standard spaces at the
  venue; every driver asks for a quote for the same --hours window around the
  event (before the rush: quoting is browsing), then all of them are released at
  once, each POSTing one hold with one ``parking`` line carrying its quote;
- the ticket flash crowd of the same size: as many buyers, released at once, for
  a general-admission ticket type of --spaces units (flash_crowd.py's run).

Each parking run is audited from Firestore: the active holds' spaces (no space in
two holds: 0 double-booked), the lot's claims (every one belongs to an active hold
and names that hold's space), the spaces used against the lot, and the lot's
availability endpoint afterwards. Results go to stdout and to the "Parking rush"
section of bench/RESULTS.md; the exit status is 1 when any space was double-booked
or oversold, or a driver was refused while spaces were free.
"""
import argparse
import json
import os
import statistics
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from types import SimpleNamespace

import requests

import firestore_ops
from flash_crowd import WARM_UP_BUYERS, Catalog, Runs, crowd, sign_up_buyers, summarize
from harness import children, cpu_seconds, emulators, make_app, served, write_section

PRICING = {"currency": "EUR", "hourly": {"standard": 300}, "daily_cap": 2500,
           "occupancy_bands": [{"from_percent": 60, "multiplier_bp": 12500}], "event_multiplier_bp": 15000,
           "ceiling_bp": 20000}


class Garage:
    """A fresh published event and a lot of ``spaces`` standard spaces at the catalog's venue, per run."""

    def __init__(self, catalog):
        self.catalog = catalog

    def make(self, title, spaces, hours):
        from app.events import service as events
        from app.parking import lots

        event_id, _ = self.catalog.sale(title, 1)
        with self.catalog.app.app_context():
            event = events.get_event(event_id)
            lot = lots.create_lot(self.catalog.venue_id, self.catalog.organizer, name=f"{title} car park",
                                  timezone="Europe/Berlin", zones=[{"id": "P", "kind": "standard", "count": spaces}],
                                  pricing=PRICING)
        start = event["starts_at"] - timedelta(hours=1)
        start = start.replace(minute=start.minute - start.minute % 15, second=0)
        return event_id, lot, start, start + timedelta(hours=hours)


def quotes(port, lot_id, event_id, start, end, tokens):
    """One quote per driver, fetched by 16 threads; (bodies for the rush, median quote latency in ms)."""
    query = {"from": start.isoformat(), "to": end.isoformat(), "event_id": event_id, "kind": "standard"}
    local = threading.local()

    def ask(token):
        session = local.__dict__.setdefault("session", requests.Session())
        started = time.monotonic()
        for attempt in range(5):
            answer = session.get(f"http://127.0.0.1:{port}/api/v1/parking-lots/{lot_id}/quote", params=query,
                                 headers={"Authorization": f"Bearer {token}"}, timeout=60)
            if answer.status_code != 503:
                break
            # A busy machine can keep the emulator's count past the API's Firestore budget; a client retries.
            time.sleep(float(answer.headers.get("Retry-After", 1)))
        answer.raise_for_status()
        return json.dumps({"items": [{"kind": "parking", "quote": answer.json()["quote"]}]}), time.monotonic() - started

    with ThreadPoolExecutor(16) as pool:
        asked = list(pool.map(ask, tokens))
    return [body for body, _ in asked], statistics.median(s for _, s in asked) * 1000


def audit(app, event_id, lot, start, end):
    """Double-booked spaces, spaces used, stray claims and bookings, from Firestore after the rush."""
    from google.cloud.firestore_v1 import FieldFilter

    from app.checkout.holds import HOLDS
    from app.firebase import db
    from app.inventory import units
    from app.parking.occupancy import Span
    from app.parking.windows import Window
    from app.timeutil import utcnow

    with app.app_context():
        now = utcnow()
        span = Span.of(lot, "standard", Window(start, end))
        claims = []
        for pool in span.pools:
            query = db().collection(units.UNITS).where(filter=FieldFilter("pool", "==", pool))
            claims += [d.to_dict() for d in query.stream() if d.get("live_until") > now]
        holds = [d.to_dict() for d in db().collection(HOLDS).where(filter=FieldFilter("event_id", "==", event_id))
                 .stream()]
    active = {h["id"]: h for h in holds if h["state"] == "active" and h["expires_at"] > now}
    lines = [(hold_id, line) for hold_id, h in active.items() for line in h["items"] if line["kind"] == "parking"]
    used = Counter(line["details"]["space"] for _, line in lines)
    space_of = {hold_id: line["details"]["space"] for hold_id, line in lines}
    stray = sum(1 for c in claims if space_of.get(c["hold_id"]) != c["unit"])
    per_hold = Counter(c["hold_id"] for c in claims)
    return {"bookings": len(lines), "spaces_used": len(used), "claims": len(claims), "stray": stray,
            "double_booked": sum(n - 1 for n in used.values() if n > 1),
            "incomplete": sum(1 for hold_id in space_of if per_hold[hold_id] != len(span.slots)),
            "oversold": max(0, len(used) - len(span.spaces)), "slots": len(span.slots)}


def available_after(port, lot_id, start, end):
    answer = requests.get(f"http://127.0.0.1:{port}/api/v1/parking-lots/{lot_id}/availability",
                          params={"from": start.isoformat(), "to": end.isoformat()}, timeout=60).json()
    return answer["kinds"][0]["available"]


class Rush:
    def __init__(self, runs, garage):
        self.runs, self.garage = runs, garage

    def run(self, title, spaces, tokens, hours):
        server, stack = self.runs.server, self.runs.stack
        event_id, lot, start, end = self.garage.make(title, spaces, hours)
        bodies, quote_ms = quotes(server.port, lot["id"], event_id, start, end, tokens)
        workers, emulator = children(server.pid), stack.pids["firestore"]
        before = firestore_ops.of_server(server.port)
        cpu = (cpu_seconds([os.getpid()]), cpu_seconds(workers), cpu_seconds([emulator]))
        outcomes, released = crowd(server.port, event_id, None, tokens, bodies=bodies)
        cpu = {name: after - was for name, after, was in zip(
            ("client", "app", "emulator"),
            (cpu_seconds([os.getpid()]), cpu_seconds(workers), cpu_seconds([emulator])), cpu)}
        ops = firestore_ops.diff(firestore_ops.of_server(server.port), before)
        result = summarize(outcomes, released, spaces, ops)
        result.update(cpu=cpu, quote_ms=quote_ms, audit=audit(self.garage.catalog.app, event_id, lot, start, end),
                      available_after=available_after(server.port, lot["id"], start, end))
        return result


def _median(runs, key):
    return statistics.median(r[key] for r in runs)


def _row(name, runs):
    cpu = statistics.median(sum(r["cpu"].values()) / max(r["ok"], 1) for r in runs) * 1000
    refused = Counter()
    for r in runs:
        refused.update(r["refused"])
    return (f"| {name} | {_median(runs, 'holds_per_s'):.1f} | {_median(runs, 'p50'):.0f} | "
            f"{_median(runs, 'p99'):.0f} | {_median(runs, 'rpcs_per_hold'):.2f} | "
            f"{_median(runs, 'writes_per_hold'):.2f} | {cpu:.1f} | "
            f"{min(r['ok'] for r in runs)}–{max(r['ok'] for r in runs)} | "
            f"{', '.join(f'{n} {c}' for c, n in sorted(refused.items())) or '0'} | "
            f"{max(r['refused_while_free'] for r in runs)} |")


def report(results, args):
    parking, tickets = results["parking"], results["tickets"]
    ratios = [p["holds_per_s"] / t["holds_per_s"] for p, t in zip(parking, tickets)]
    audits = [p["audit"] for p in parking]
    worst = {key: max(a[key] for a in audits) for key in ("double_booked", "oversold", "stray", "incomplete")}
    passed = (all(v == 0 for v in worst.values()) and all(p["refused_while_free"] == 0 for p in parking)
              and all(p["ok"] == min(args.spaces, args.drivers) for p in parking)
              and all(p["available_after"] == args.spaces - p["ok"] for p in parking))
    command = (f".venv/bin/python bench/parking.py --spaces {args.spaces} --drivers {args.drivers} "
               f"--hours {args.hours} --threads {args.threads} --rounds {args.rounds} --cache {args.cache}")
    body = f"""Command: `{command}` (the whole run, set-up included: {results['seconds']:.0f} s)

2 CPUs shared by everything in the run: the Firestore and Auth emulators, Redis, gunicorn (2 gthread workers ×
{args.threads} threads), the client (one thread per driver, loopback) and whatever else the machine ran (1-minute load
average {results['load'][0]:.1f} at the start, {results['load'][1]:.1f} at the end).

### {args.drivers} drivers at once for {args.spaces} spaces, beside a ticket flash crowd of the same size

Medians over {args.rounds} rounds. Every driver books the same {args.hours}-hour window
({audits[0]['slots']} slots of 15 minutes).

| run | holds/s | p50 ms | p99 ms | Firestore RPCs / hold | writes / hold | CPU ms / hold | holds per round | \
refused, all rounds | refused while free |
|---|---:|---:|---:|---:|---:|---:|---:|---|---:|
{_row("parking: `POST /events/<id>/holds` with one parking line each", parking)}
{_row("tickets: the flash crowd's hold of one ticket each", tickets)}

Ratio of parking bookings/s to ticket holds/s, per round: {', '.join(f'{r:.2f}' for r in ratios)}; median
**{statistics.median(ratios):.2f}**. A booking is one batch of {2 + audits[0]['slots']} creates (the hold, the
buyer's hold slot and one claim per slot of its space), a ticket hold one of 3. Writes per hold count every commit
sent, also those that collided and were tried again with another space, over the successful holds.

Audit after each parking round, from Firestore:
- double-booked spaces (one space in two active holds): {worst['double_booked']};
- spaces used beyond the lot's: {worst['oversold']}; claims naming another space than their hold's:
  {worst['stray']}; holds missing a slot: {worst['incomplete']};
- bookings per round: {', '.join(str(p['ok']) for p in parking)}; spaces the availability endpoint showed free
  afterwards: {', '.join(str(p['available_after']) for p in parking)} (of {args.spaces});
- quotes, asked before each rush, one per driver, 16 at a time: median
  {statistics.median(p['quote_ms'] for p in parking):.0f} ms each (a count of the first slot's claims).

How it was measured: as the flash crowd (its "How it was measured" above holds here too): one thread per driver
with its own connection and ID token, released by a barrier; holds/s is successful bookings over the time from the
release to the last successful answer; latency runs from the release to the response; refused while free counts
refusals while fewer drivers had a space than there were spaces, or that came back before another driver's
successful request had started; Firestore calls are counted by bench/firestore_ops.py in each worker; CPU is the
workers', the client's and the emulator's (/proc). Every round uses a new event and a new lot, and rotates which of
the two crowds goes first. App settings: HOLD_TTL_SECONDS=600, MAX_ACTIVE_HOLDS_PER_EVENT=3, rate limits off, no
live feed, no Idempotency-Key."""
    print(body)
    write_section("Parking rush", body)
    return passed


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spaces", type=int, default=200)
    parser.add_argument("--drivers", type=int, default=300)
    parser.add_argument("--hours", type=int, default=6, help="the booking window, in hours")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cache", choices=("redis", "simple"), default="redis")
    args = parser.parse_args()
    threading.stack_size(512 * 1024)
    started, load_before = time.monotonic(), os.getloadavg()[0]
    results = {"parking": [], "tickets": []}
    with emulators("bench-parking-", redis=args.cache == "redis") as (stack, redis_url, log_dir):
        print(f"logs: {log_dir}", flush=True)
        # The audit reads every claim of a lot: give the set-up process's Firestore calls room on a busy machine.
        catalog = Catalog(make_app(log_dir, FIRESTORE_TIMEOUT_SECONDS=120))
        tokens = [t for _, t in sign_up_buyers(stack.auth_host, args.drivers)]
        print(f"set-up: {len(tokens)} drivers signed up, {time.monotonic() - started:.0f} s", flush=True)
        runs = Runs(SimpleNamespace(), stack, catalog, log_dir, redis_url)
        rush = Rush(runs, Garage(catalog))
        env = {"BENCH_COUNT_FIRESTORE": "1", "HOLD_TTL_SECONDS": "600", "MAX_ACTIVE_HOLDS_PER_EVENT": "3",
               "PARKING_QUOTE_TTL_SECONDS": "900"}
        with served(stack, log_dir, redis_url=redis_url, workers=args.workers, threads=args.threads,
                    env=env) as runs.server:
            # Every driver once through each kind of crowd first, so workers have seen (and cached) their tokens.
            rush.run("Warm-up", WARM_UP_BUYERS, tokens, args.hours)
            runs.http("Warm-up tickets", WARM_UP_BUYERS, tokens)
            for round_ in range(args.rounds):
                order = ("parking", "tickets") if round_ % 2 == 0 else ("tickets", "parking")
                for kind in order:
                    results[kind].append(
                        rush.run(f"Match day {round_}", args.spaces, tokens, args.hours) if kind == "parking"
                        else runs.http(f"Flash crowd {round_}", args.spaces, tokens))
                print(f"round {round_}: parking {results['parking'][-1]['holds_per_s']:.0f} bookings/s, "
                      f"tickets {results['tickets'][-1]['holds_per_s']:.0f} holds/s, "
                      f"audit {results['parking'][-1]['audit']}", flush=True)
    results["seconds"] = time.monotonic() - started
    results["load"] = (load_before, os.getloadavg()[0])
    raise SystemExit(0 if report(results, args) else 1)


if __name__ == "__main__":
    main()
