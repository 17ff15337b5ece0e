"""On-sale at scale: ten times the flash crowd, the seated rush for adjacent pairs, and two hosts.

    .venv/bin/python bench/on_sale_scale.py [--capacity 5000] [--buyers 7000] [--late-buyers 200]
                                            [--seats 1000] [--seat-buyers 2000] [--hosts-capacity 1000]

Starts the Firestore and Auth emulators and Redis on free ports, creates the
catalogue through the app's services (bench/flash_crowd.py's Catalog), mints
buyers' ID tokens, and in one run:

- general admission: --buyers buyers at once for --capacity units, served by
  gunicorn (2 gthread workers of 16 threads), and --late-buyers released the
  moment the last unit is held;
- seated: --seat-buyers buyers at once for --seats seats (rows of 50), each
  asking for two adjacent seats it believes free, from a view of the seat map
  that one reader refreshes from the availability endpoint (as apps would see
  it through the live feed), and on ``seat_taken`` trying another pair without
  the seat it named, up to MAX_SEAT_TRIES times;
- several hosts: --hosts-capacity buyers for as many units against one
  gunicorn master of 4 workers, then two masters of 2 workers each (as two
  hosts would run, the buyers split between them as a load balancer would),
  with lanes from leases (LANE_LEASE_SECONDS) and with lanes per master only.

Every run is audited from Firestore afterwards (no unit or seat claimed
twice, claims and holds agree). Results go to stdout and to the "On-sale at
scale" section of bench/RESULTS.md; the exit status is 1 when anything was
oversold, a buyer was refused while units were free, or any answer was a 5xx.
"""
import argparse
import os
import random
import threading
import time
from collections import Counter
from contextlib import ExitStack
from datetime import timedelta

import requests

import cpu_parts
import firestore_ops
from flash_crowd import Catalog, audit_claims, crowd, mint_buyers, summarize
from harness import children, cpu_seconds, emulators, make_app, quantiles_ms, release_together, served, write_section

ROW = 50
MAX_SEAT_TRIES = 10
VIEW_SECONDS = 0.5
LANE_LEASE = "10"
SERVER_ERRORS = {"busy", "internal_error", "service_unavailable", "not_ready"}


def serve(stack, log_dir, redis_url, *, workers, lanes):
    env = {"BENCH_COUNT_FIRESTORE": "1", "BENCH_CPU_PARTS": "1", "HOLD_TTL_SECONDS": "600",
           "MAX_ACTIVE_HOLDS_PER_EVENT": "3", "LANE_LEASE_SECONDS": lanes}
    return served(stack, log_dir, redis_url=redis_url, workers=workers, threads=16, env=env)


def general(servers, catalog, stack, title, capacity, tokens, late_tokens=()):
    """One crowd for one general-admission sale, split over the servers' ports; its summary and audit."""
    event_id, ticket_type_id = catalog.sale(title, capacity)
    ports = [s.port for s in servers]
    workers = [pid for s in servers for pid in children(s.pid)]
    before = [firestore_ops.of_server(p) for p in ports]
    parts_before = [cpu_parts.of_server(p) for p in ports]
    cpu = (cpu_seconds(workers), cpu_seconds([stack.pids["firestore"]]))
    if len(ports) == 1:
        outcomes, released = crowd(ports[0], event_id, ticket_type_id, tokens, late_tokens=late_tokens,
                                   capacity=capacity)
    else:
        outcomes, released = _split_crowd(ports, event_id, ticket_type_id, tokens)
    app_cpu, emulator_cpu = cpu_seconds(workers) - cpu[0], cpu_seconds([stack.pids["firestore"]]) - cpu[1]
    ops = _summed(firestore_ops.diff(firestore_ops.of_server(p), b) for p, b in zip(ports, before))
    parts = _summed(firestore_ops.diff(cpu_parts.of_server(p), b) for p, b in zip(ports, parts_before))
    late = outcomes[len(outcomes) - len(late_tokens):] if late_tokens else []
    outcomes = outcomes[:len(outcomes) - len(late_tokens)]
    result = summarize(outcomes, released, capacity, ops)
    holds = max(result["ok"], 1)
    result.update(cpu={"app": app_cpu, "emulator": emulator_cpu}, parts=cpu_parts.per_hold(parts, app_cpu),
                  audit=audit_claims(catalog.app, event_id, ticket_type_id, capacity),
                  collisions=ops.get("commit_refused", 0) / holds,
                  taken_own_lane=ops.get("collision_own_lane", 0) / holds,
                  taken_other_lane=ops.get("collision_other_lane", 0) / holds,
                  failures=Counter(o for o, _, _ in outcomes + late
                                   if o.startswith("client error") or o in SERVER_ERRORS))
    soldout = [e - s for o, s, e in outcomes if o == "sold_out"]
    result["sold_out_p50"], result["sold_out_p99"] = quantiles_ms(soldout) if soldout else (None, None)
    if late:
        p50, p99 = quantiles_ms([e - s for _, s, e in late])
        result["late"] = {"buyers": len(late), "answers": sorted({o for o, _, _ in late}), "p50": p50, "p99": p99}
    return result


def _summed(diffs):
    total = {}
    for diff in diffs:
        for key, value in diff.items():
            total[key] = total.get(key, 0) + value
    return total


def _split_crowd(ports, event_id, ticket_type_id, tokens):
    """The crowd as a load balancer would send it: buyers taking the hosts in turn, all released at once."""
    results = [None] * len(ports)
    barrier = threading.Barrier(len(ports))

    def run(index):
        barrier.wait()
        results[index] = crowd(ports[index], event_id, ticket_type_id, tokens[index::len(ports)])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(ports))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [o for outcomes, _ in results for o in outcomes], min(released for _, released in results)


class SeatedSale:
    """A seated ticket type over a venue section of ``seats`` seats in rows of ROW."""

    def __init__(self, catalog, seats):
        from app.events import lifecycle, ticket_types
        from app.events import service as events
        from app.timeutil import utcnow
        from app.venues import service as venues

        rows = [{"label": f"R{r}", "seats": [str(s) for s in range(1, ROW + 1)]} for r in range(seats // ROW)]
        with catalog.app.app_context():
            venue = venues.create_venue(catalog.organizer, name="Bench Bowl", address="2 Seat Lane", city="Berlin",
                                        country="DE", capacity=seats,
                                        seat_map={"sections": [{"id": "bowl", "name": "Bowl", "rows": rows}]})
            starts = utcnow().replace(microsecond=0) + timedelta(days=30)
            event = events.create_event(catalog.organizer, venue_id=venue["id"], title="Seated rush",
                                        category="music", starts_at=starts, ends_at=starts + timedelta(hours=3),
                                        timezone="Europe/Berlin")
            self.ticket_type = ticket_types.create_ticket_type(
                event["id"], catalog.organizer, name="Bowl", price=4000, currency="EUR", kind="seated",
                sections=["bowl"], per_order_limit=4)
            lifecycle.publish_event(event["id"], catalog.organizer)
        self.event_id, self.rows = event["id"], rows


def _free_pairs(states):
    """Adjacent pairs of free seats, by row, from availability's seat states."""
    free = {s["id"] for s in states if s["state"] == "available"}
    pairs = []
    for seat in sorted(free):
        section, row, number = seat.split(":")
        neighbour = f"{section}:{row}:{int(number) + 1}"
        if neighbour in free:
            pairs.append([seat, neighbour])
    return pairs


class SeatView:
    """The seat map as the buyers' apps see it: one reader refreshes it from the availability endpoint every
    VIEW_SECONDS, as the live feed would push it, instead of every buyer asking the API again."""

    def __init__(self, base):
        self.base, self.session = base, requests.Session()
        self.states, self.reads = self.read(), 1
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def read(self):
        return self.session.get(f"{self.base}/availability", timeout=120).json()["ticket_types"][0]["seats"]

    def _run(self):
        while not self._stop.wait(VIEW_SECONDS):
            try:
                self.states, self.reads = self.read(), self.reads + 1
            except requests.RequestException:
                continue

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def seated(port, sale, tokens):
    """Each buyer asks for an adjacent pair free in its view, and on seat_taken another, leaving out the seats
    it has heard are taken."""
    base = f"http://127.0.0.1:{port}/api/v1/events/{sale.event_id}"
    outcomes = [None] * len(tokens)

    def buyer(index, ready):
        session = requests.Session()
        # A connection per try, as the general-admission buyers open one: a try on a kept-alive connection that
        # the server closed since the last answer fails before it reaches the server.
        headers = {"Authorization": f"Bearer {tokens[index]}", "Connection": "close"}
        ready()
        started, outcome, tries, taken = time.monotonic(), "no_pair_left", 0, set()
        pairs = _free_pairs(view.states)
        while pairs:
            if tries == MAX_SEAT_TRIES:
                outcome = "gave_up"
                break
            tries += 1
            try:
                response = session.post(f"{base}/holds", json={"seats": random.choice(pairs)}, headers=headers,
                                        timeout=120)
            except requests.RequestException as exc:
                outcome = f"client error: {type(exc).__name__}"
                break
            if response.status_code == 201:
                outcome = "ok"
                break
            error = response.json()["error"] if response.status_code < 500 else None
            if error is None or error["code"] != "seat_taken":
                outcome = error["code"] if error else f"http {response.status_code}"
                break
            taken.add(error["details"]["seat"])
            pairs = [pair for pair in _free_pairs(view.states) if taken.isdisjoint(pair)]
        outcomes[index] = (outcome, started, time.monotonic(), tries)

    with SeatView(base) as view:
        released = release_together(buyer, len(tokens))
    left = _free_pairs(view.read())
    ok = [(s, e) for o, s, e, _ in outcomes if o == "ok"]
    no_pair = sum(1 for o, *_ in outcomes if o == "no_pair_left")
    p50, p99 = quantiles_ms([e - s for s, e in ok])
    return {"buyers": len(tokens), "ok": len(ok), "no_pair": no_pair,
            "gave_up": sum(1 for o, *_ in outcomes if o == "gave_up"), "pairs_left": len(left),
            "false_sold_outs": min(no_pair, len(left)), "view_reads": view.reads,
            "errors": sorted({o for o, *_ in outcomes if o not in ("ok", "no_pair_left", "gave_up")}),
            "holds_per_s": len(ok) / max(max((e for _, e in ok), default=released) - released, 1e-9),
            "p50": p50, "p99": p99, "tries": sum(t for *_, t in outcomes) / len(tokens)}


def audit_seats(app, sale, seats):
    """Live seat claims against active holds: a seat is never held twice, and never beyond the map."""
    from google.cloud.firestore_v1 import FieldFilter

    from app.checkout.holds import HOLDS
    from app.firebase import db
    from app.inventory import units
    from app.timeutil import utcnow

    with app.app_context():
        now = utcnow()
        claims = [d.to_dict() for d in db().collection(units.UNITS)
                  .where(filter=FieldFilter("pool", "==", sale.ticket_type["id"])).stream()]
        holds = [d.to_dict() for d in db().collection(HOLDS)
                 .where(filter=FieldFilter("event_id", "==", sale.event_id)).stream()]
    live = [c for c in claims if c["live_until"] > now]
    held_seats = [seat for h in holds if h["state"] == "active" for line in h["items"]
                  for seat in line["details"]["seats"]]
    return {"claims": len(live), "held_seats": len(held_seats),
            "double_held": len(held_seats) - len(set(held_seats)), "oversold": max(0, len(live) - seats)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--capacity", type=int, default=5000)
    parser.add_argument("--buyers", type=int, default=7000)
    parser.add_argument("--late-buyers", type=int, default=200)
    parser.add_argument("--seats", type=int, default=1000)
    parser.add_argument("--seat-buyers", type=int, default=2000)
    parser.add_argument("--hosts-capacity", type=int, default=1000)
    args = parser.parse_args()
    threading.stack_size(256 * 1024)
    started, load_before = time.monotonic(), os.getloadavg()[0]
    results = {}
    with emulators("bench-on-sale-scale-", redis=True) as (stack, redis_url, log_dir):
        print(f"logs: {log_dir}", flush=True)
        catalog = Catalog(make_app(log_dir))
        buyers = mint_buyers(catalog.app.config["FIREBASE_PROJECT_ID"],
                             max(args.buyers, args.seat_buyers, args.hosts_capacity) + args.late_buyers)
        tokens = [t for _, t in buyers]
        with serve(stack, log_dir, redis_url, workers=2, lanes=LANE_LEASE) as server:
            general([server], catalog, stack, "Warm-up", 200, tokens[:200])
            results["general"] = general([server], catalog, stack, "Ten times", args.capacity,
                                         tokens[:args.buyers], tokens[-args.late_buyers:])
            print(f"general: {results['general']['ok']} holds, {results['general']['holds_per_s']:.0f}/s", flush=True)
            sale = SeatedSale(catalog, args.seats)
            results["seated"] = seated(server.port, sale, tokens[:args.seat_buyers])
            results["seated"]["audit"] = audit_seats(catalog.app, sale, args.seats)
            print(f"seated: {results['seated']['ok']} pairs, {results['seated']['holds_per_s']:.0f}/s", flush=True)
        hosts = {}
        with serve(stack, log_dir, redis_url, workers=4, lanes=LANE_LEASE) as one:
            settle_lanes()
            general([one], catalog, stack, "Warm-up one", 200, tokens[:200])
            hosts["one master, 4 workers"] = general([one], catalog, stack, "One host", args.hosts_capacity,
                                                     tokens[:args.hosts_capacity])
        for label, lanes in (("two masters × 2 workers, lanes from leases", LANE_LEASE),
                             ("two masters × 2 workers, lanes per master", "0")):
            with ExitStack() as masters:
                servers = [masters.enter_context(serve(stack, log_dir, redis_url, workers=2, lanes=lanes))
                           for _ in range(2)]
                settle_lanes()
                general(servers, catalog, stack, f"Warm-up {label}", 200, tokens[:200])
                hosts[label] = general(servers, catalog, stack, label, args.hosts_capacity,
                                       tokens[:args.hosts_capacity])
            print(f"{label}: {hosts[label]['holds_per_s']:.0f}/s, {hosts[label]['collisions']:.3f} collisions/hold",
                  flush=True)
        results["hosts"] = hosts
    results["seconds"], results["load"] = time.monotonic() - started, (load_before, os.getloadavg()[0])
    raise SystemExit(0 if report(results, args) else 1)


def _general_row(label, r):
    sold_out = "–" if r["sold_out_p50"] is None else f"{r['sold_out_p50']:.0f}"
    return (f"| {label} | {r['ok']} | {r['holds_per_s']:.1f} | {r['p50']:.0f} / {r['p99']:.0f} | {sold_out} | "
            f"{r['collisions']:.3f} | {r['taken_own_lane']:.3f} + {r['taken_other_lane']:.3f} | "
            f"{r['audit']['oversold']} | {r['false_sold_outs']} | {r['refused_while_free']} | "
            f"{_failures(r['failures'])} |")


def settle_lanes():
    """Wait until every worker has taken its lane lease and counted the lanes the others hold."""
    time.sleep(float(LANE_LEASE) / 3 + 2)


def _failures(counts):
    return ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items())) or "0"


def report(results, args):
    g, s, hosts = results["general"], results["seated"], results["hosts"]
    one = hosts["one master, 4 workers"]
    lines = [
        "Command: `.venv/bin/python bench/on_sale_scale.py "
        f"--capacity {args.capacity} --buyers {args.buyers} --late-buyers {args.late_buyers} --seats {args.seats} "
        f"--seat-buyers {args.seat_buyers} --hosts-capacity {args.hosts_capacity}` (the whole run: "
        f"{results['seconds']:.0f} s; 1-minute load average {results['load'][0]:.1f} at the start, "
        f"{results['load'][1]:.1f} at the end)", "",
        f"### General admission: {args.buyers} buyers at once for {args.capacity} units", "",
        "| run | holds | holds/s | hold p50 / p99 ms | sold-out p50 ms | collisions / hold | units found taken / hold: "
        "own lane + other lanes | oversold | "
        "false sold-outs | refused while units were free | failed requests |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        _general_row("ours, gunicorn 2 workers", g), "",
    ]
    if g.get("late"):
        lines += [f"{g['late']['buyers']} late buyers released the moment the last unit was held "
                  f"({', '.join(g['late']['answers'])}): p50 **{g['late']['p50']:.0f} ms**, "
                  f"p99 {g['late']['p99']:.0f} ms.",
                  ""]
    lines += [
        f"### Seated: {args.seat_buyers} buyers at once for {args.seats} seats, each asking for an adjacent pair", "",
        "| pairs held | holds/s | p50 / p99 ms (held) | tries / buyer | saw no pair | gave up after "
        f"{MAX_SEAT_TRIES} tries | adjacent pairs left | false sold-outs | seats held twice | oversold | "
        "other answers |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        f"| {s['ok']} | {s['holds_per_s']:.1f} | {s['p50']:.0f} / {s['p99']:.0f} | {s['tries']:.2f} | {s['no_pair']} | "
        f"{s['gave_up']} | {s['pairs_left']} | {s['false_sold_outs']} | {s['audit']['double_held']} | "
        f"{s['audit']['oversold']} | {', '.join(s['errors']) or 'none'} |", "",
        f"Buyers pick from a view of the seat map refreshed every {VIEW_SECONDS} s by one reader of the "
        f"availability endpoint ({s['view_reads']} reads), as apps would from the live feed, leaving out seats a "
        "seat_taken answer named. A false sold-out is a buyer who saw no pair left while one was.", "",
        f"### Several hosts: {args.hosts_capacity} buyers for as many units, 4 workers in all", "",
        "| run | holds | holds/s | hold p50 / p99 ms | sold-out p50 ms | collisions / hold | units found taken / hold: "
        "own lane + other lanes | oversold | "
        "false sold-outs | refused while units were free | failed requests |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        *(_general_row(label, r) for label, r in hosts.items()), "",
        "Ratio of two masters' holds/s to one master's with the same number of workers: "
        + "; ".join(f"{label}: **{r['holds_per_s'] / one['holds_per_s']:.2f}**" for label, r in hosts.items()
                    if r is not one) + ".", "",
        "Collisions / hold: commits Firestore refused, per successful hold (a create() that met a unit another "
        "buyer had just claimed, or a transaction that lost to another; the hold tries again). Units found taken: "
        "each unit a worker's hold tried and found claimed by another buyer, by whether the unit is in that "
        "worker's own lane (another worker selling the same lane, or one whose lane ran dry taking from it) or "
        "in another's (this worker's lane ran dry, or a probe's answer went stale). Failed requests: a 5xx "
        "answer (busy, internal_error, service_unavailable, not_ready), or a request the client could not "
        "complete (client error: the exception it raised, after at most 120 s). Buyers' tokens are minted in the Auth emulator's shape; every run is audited from "
        "Firestore afterwards.",
    ]
    body = "\n".join(lines)
    print("## On-sale at scale\n\n" + body)
    write_section("On-sale at scale", body)
    runs = [g, *hosts.values()]
    return (all(r["audit"]["oversold"] == 0 and r["refused_while_free"] == 0 and not r["failures"]
                for r in runs) and s["audit"]["double_held"] == 0 and s["audit"]["oversold"] == 0
            and s["false_sold_outs"] == 0 and not [e for e in s["errors"] if e.startswith("http 5")])


if __name__ == "__main__":
    main()
