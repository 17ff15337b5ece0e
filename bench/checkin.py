"""Check-in benchmark: offline code verifications per core, and online check-ins through gunicorn.

    .venv/bin/python bench/checkin.py [--codes 5000] [--tickets 600] [--threads 16] [--workers 2]

Offline: what a scanner without network does per scan, in this process on one
core: parse a ticket code and verify its Ed25519 signature with the event's
public key (``app.tickets.codes.verify_ticket_code``), reported per CPU second.

Online: starts the Firestore and Auth emulators on free ports, makes an
organizer, a venue with one staff member and an event starting within the
hour through the services, issues --tickets tickets with the tickets domain's
own signing (``tickets.issue_tickets``, written in batches rather than through
orders, which the orders benchmarks measure), serves bench.wsgi:app under
gunicorn (--workers gthread workers) and has --threads scanners POST one scan
per ticket as the staff member: first scans (all ``ok``), then every ticket
again (all ``already_checked_in``). Firestore calls per check-in come from the
workers' counting shim. Results go to stdout and the "Check-in" section of
bench/RESULTS.md; the exit status is 1 when any ticket was admitted twice or a
first scan did not answer ``ok``.
"""
import argparse
import itertools
import secrets
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import requests

import firestore_ops
from harness import children, cpu_seconds, emulators, make_app, quantiles_ms, served, write_section

PASSWORD = "bench-pass-123"


def offline_rate(count):
    """(verifications per CPU second, per wall second) over ``count`` distinct codes, one thread."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from app.tickets.codes import public_key_from, sign_code, verify_ticket_code

    key = Ed25519PrivateKey.generate()
    event_id = "benchEvent0123456789"
    codes = [sign_code(key, event_id, secrets.token_hex(16)) for _ in range(count)]
    public = public_key_from(key.public_key())
    best_cpu = best_wall = 0
    for _ in range(3):
        cpu, wall = time.process_time(), time.perf_counter()
        for code in codes:
            verify_ticket_code(code, public, event_id=event_id)
        best_cpu = max(best_cpu, count / (time.process_time() - cpu))
        best_wall = max(best_wall, count / (time.perf_counter() - wall))
    return best_cpu, best_wall


def seed(app, stack, tickets):
    """(event id, staff ID token, [codes]) of an event starting in an hour with ``tickets`` issued tickets."""
    from app.auth import CurrentUser, Role
    from app.events import lifecycle, ticket_types
    from app.events import service as events
    from app.firebase import db, get_firebase
    from app.tickets import service as ticket_service
    from app.timeutil import utcnow
    from app.users import service as users
    from app.venues import service as venues

    with app.app_context():
        firebase = get_firebase()
        organizer_account = firebase.create_user(email="organizer@bench.test", password=PASSWORD)
        users.set_role(organizer_account.uid, Role.ORGANIZER)
        organizer = CurrentUser(uid=organizer_account.uid, email=organizer_account.email, role=Role.ORGANIZER)
        staff_account = firebase.create_user(email="staff@bench.test", password=PASSWORD)
        users.set_role(staff_account.uid, Role.STAFF)
        venue = venues.create_venue(organizer, name="Bench Arena", address="1 Loop Road", city="Berlin",
                                    country="DE", capacity=100_000)
        venues.add_venue_staff(venue["id"], organizer, staff_account.uid)
        starts = utcnow().replace(microsecond=0) + timedelta(hours=1)
        event = events.create_event(organizer, venue_id=venue["id"], title="Door night", category="music",
                                    starts_at=starts, ends_at=starts + timedelta(hours=3), timezone="Europe/Berlin")
        ticket_type = ticket_types.create_ticket_type(event["id"], organizer, name="General admission", price=2500,
                                                      currency="EUR", kind="general_admission", capacity=tickets)
        lifecycle.publish_event(event["id"], organizer)
        signing_key = ticket_service.get_signing_key(event["id"])
        units = [{"unit_id": f"bench-{i}", "unit": i, "ticket_type_id": ticket_type["id"], "price": 2500}
                 for i in range(tickets)]
        order = {"id": "benchorder", "event_id": event["id"], "buyer_uid": organizer.uid, "currency": "EUR",
                 "items": [{"ticket_type_id": ticket_type["id"], "name": "General admission"}]}
        issued = []
        for start in range(0, tickets, 400):
            batch = db().batch()
            issued += ticket_service.issue_tickets(batch, {**order, "units": units[start:start + 400]}, signing_key,
                                                   utcnow())
            batch.commit()
        codes = [ticket_service.ticket_ref(u["ticket_id"]).get().get("code") for u in issued]
    session = requests.post(f"http://{stack.auth_host}/identitytoolkit.googleapis.com/v1/accounts:signInWithPassword",
                            params={"key": "bench"}, timeout=10,
                            json={"email": "staff@bench.test", "password": PASSWORD, "returnSecureToken": True})
    session.raise_for_status()
    return event["id"], session.json()["idToken"], codes


def scan_all(server, event_id, token, codes, threads, label):
    """Each code scanned once by a pool of scanners: (results Counter, seconds, latencies, CPU s, Firestore calls)."""
    url = f"http://127.0.0.1:{server.port}/api/v1/events/{event_id}/checkins"
    headers = {"Authorization": f"Bearer {token}"}
    local = threading.local()
    nonces = itertools.count()

    def scan(code):
        session = local.__dict__.setdefault("session", requests.Session())
        body = {"code": code, "gate": f"gate-{threading.get_ident() % 4}", "nonce": f"{label}-{next(nonces):08d}"}
        started = time.perf_counter()
        response = session.post(url, json=body, headers=headers, timeout=60)
        return response.json().get("result", f"http_{response.status_code}"), time.perf_counter() - started

    workers = children(server.pid)
    ops_before, cpu_before = firestore_ops.of_server(server.port), cpu_seconds(workers)
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        outcomes = list(pool.map(scan, codes))
    elapsed = time.perf_counter() - started
    cpu = cpu_seconds(workers) - cpu_before
    ops_after = firestore_ops.of_server(server.port)
    kinds = {k: (ops_after[k] - ops_before.get(k, 0)) / len(codes) for k in ops_after}
    calls = sum(n for k, n in kinds.items() if k.startswith("rpc:")) * len(codes)
    return Counter(r for r, _ in outcomes), elapsed, [s for _, s in outcomes], cpu, calls


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--codes", type=int, default=5000)
    parser.add_argument("--tickets", type=int, default=600)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    per_cpu, per_wall = offline_rate(args.codes)
    print(f"offline: {per_cpu:,.0f} verifications per CPU second ({per_wall:,.0f}/s wall, one thread)")
    rows = []
    with emulators("bench-checkin-") as (stack, _, log_dir):
        app = make_app(log_dir)
        event_id, token, codes = seed(app, stack, args.tickets)
        with served(stack, log_dir, workers=args.workers, threads=args.threads,
                    env={"BENCH_COUNT_FIRESTORE": "1"}) as server:
            for label, expected in (("first", "ok"), ("again", "already_checked_in")):
                results, elapsed, latencies, cpu, calls = scan_all(server, event_id, token, codes, args.threads,
                                                                   label)
                p50, p99 = quantiles_ms(latencies)
                rows.append((label, expected, results, len(codes) / elapsed, p50, p99, cpu / len(codes) * 1000,
                             calls / len(codes)))
                print(f"{label}: {dict(results)} {len(codes) / elapsed:.0f}/s p50 {p50:.0f} ms p99 {p99:.0f} ms "
                      f"{cpu / len(codes) * 1000:.2f} CPU ms and {calls / len(codes):.1f} Firestore RPCs per scan")
    failed = any(r[2] != Counter({r[1]: len(codes)}) for r in rows)
    table = "\n".join(f"| {label} scans | {dict(results)} | {rate:.0f} | {p50:.0f} / {p99:.0f} | {cpu:.2f} | "
                      f"{calls:.1f} |" for label, _, results, rate, p50, p99, cpu, calls in rows)
    write_section("Check-in", f"""
`.venv/bin/python bench/checkin.py --codes {args.codes} --tickets {args.tickets} --threads {args.threads} \
--workers {args.workers}` ({time.strftime('%Y-%m-%d')}, this machine, Firestore emulator).

Offline, one thread in-process: **{per_cpu:,.0f} code verifications per CPU second** (parse + Ed25519 verify with
the event's public key; {per_wall:,.0f}/s wall).

Online, `POST /events/<id>/checkins` as venue staff under gunicorn ({args.workers} gthread workers x
{args.threads} threads), {args.threads} scanners, each of {args.tickets} tickets once, then each again:

| round | results | check-ins/s | p50 / p99 ms | worker CPU ms per scan | Firestore RPCs per scan |
|---|---|---|---|---|---|
{table}

Each scan is one transaction: one batched read of the scan, ticket and entry documents, and a commit
creating the entry, the scan record and a counter-shard increment. {'FAILED: a round gave unexpected results.' if failed else 'Every first scan answered ok and every second one already_checked_in.'}
""")
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
