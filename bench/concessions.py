"""Half-time rush benchmark: buyers ordering from three stands at once, one hot scarf, over gunicorn.

    .venv/bin/python bench/concessions.py [--buyers 360] [--scarves 50] [--scarf-buyers 120] [--threads 16]
                                          [--workers 2] [--rounds 2]

Starts the Firestore and Auth emulators on free ports, makes an organizer, a
venue with tax rates, and per round a published event with a ticket type and
three stands open for it (a kitchen: burgers with options and fries with
sizes; a bar: age-restricted beer and soda; a merchandise stand: --scarves
scarves in stock and caps), all through the app's services; signs up --buyers
buyer accounts; serves bench.wsgi:app under gunicorn (--workers gthread workers
x --threads threads). Then, in each round, side by side:

- the rush: every buyer released at once by a barrier, each ordering from one
  stand through the checkout as a mobile app does: POST a hold of one to three
  concession lines, POST the order with a tip, and the box office marks it
  paid. --scarf-buyers of them want a scarf, more than there are;
- the same buyers at once, each buying one general-admission ticket the same
  three calls: the reference the rush is measured against.

Each rush is audited from Firestore afterwards: the scarf's sold claims, the
scarves in stand orders, one stand order per paid order, pickup codes unique
per stand. Results go to stdout and to the "Concessions rush" section of
bench/RESULTS.md; the exit status is 1 when anything was oversold, a buyer was
refused while scarves were left (or for anything but a sold-out scarf), or the
rush took fewer than 300 orders in a minute.
"""
import argparse
import http.client
import json
import os
import random
import statistics
import threading
import time
from datetime import timedelta

import requests

from flash_crowd import PASSWORD, sign_up_buyers
from harness import children, cpu_seconds, emulators, make_app, quantiles_ms, release_together, served, write_section

TAX_RATES = {"food": {"basis_points": 700, "inclusive": False}, "drinks": {"basis_points": 1900, "inclusive": False},
             "merchandise": {"basis_points": 1900, "inclusive": True}}
STANDS = {
    "kitchen": ({"name": "Kitchen", "kind": "food", "delivers_to_seats": True, "service_fee": 50}, [
        {"item_id": "burger", "name": "Burger", "price": 850, "tax_category": "food", "option_groups": [
            {"id": "sauce", "name": "Sauce", "required": True,
             "options": [{"id": "ketchup", "name": "Ketchup"}, {"id": "mayo", "name": "Mayonnaise"}]},
            {"id": "extras", "name": "Extras", "max_choices": 2,
             "options": [{"id": "cheese", "name": "Cheese", "price_delta": 100}, {"id": "bacon", "name": "Bacon",
                                                                                   "price_delta": 150}]}]},
        {"item_id": "fries", "name": "Fries", "price": 350, "tax_category": "food",
         "variants": [{"id": "small", "name": "Small"}, {"id": "large", "name": "Large", "price_delta": 150}]}]),
    "bar": ({"name": "Bar", "kind": "bar"}, [
        {"item_id": "beer", "name": "Beer", "price": 500, "tax_category": "drinks", "age_restricted": True},
        {"item_id": "soda", "name": "Soda", "price": 300, "tax_category": "drinks"}]),
    "merch": ({"name": "Merchandise", "kind": "merchandise", "takes_tips": False}, [
        {"item_id": "scarf", "name": "Club scarf", "price": 1500, "tax_category": "merchandise", "stock": None},
        {"item_id": "cap", "name": "Cap", "price": 1200, "tax_category": "merchandise", "stock": 2000}]),
}
MIN_ORDERS_PER_MINUTE = 300


class Venue:
    """An organizer and a venue with tax rates; per round a published event with three stands."""

    def __init__(self, app, stack):
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
                                                city="Berlin", country="DE", capacity=100_000,
                                                tax_rates=TAX_RATES)["id"]
        sign_in = f"http://{stack.auth_host}/identitytoolkit.googleapis.com/v1/accounts:signInWithPassword"
        session = requests.post(sign_in, params={"key": "bench"}, timeout=10, json={
            "email": "organizer@bench.test", "password": PASSWORD, "returnSecureToken": True})
        session.raise_for_status()
        self.token = session.json()["idToken"]

    def event(self, title, scarves, tickets):
        """(event id, ticket type id, {stand key: stand id}) of a new published event and its stands."""
        from app.concessions import menu, stands
        from app.events import lifecycle, ticket_types
        from app.events import service as events
        from app.timeutil import utcnow

        with self.app.app_context():
            starts = utcnow().replace(microsecond=0) + timedelta(hours=1)
            event = events.create_event(self.organizer, venue_id=self.venue_id, title=title, category="sports",
                                        starts_at=starts, ends_at=starts + timedelta(hours=3),
                                        timezone="Europe/Berlin")
            ticket_type = ticket_types.create_ticket_type(event["id"], self.organizer, name="Standing", price=2500,
                                                          currency="EUR", kind="general_admission",
                                                          capacity=tickets)
            lifecycle.publish_event(event["id"], self.organizer)
            made = {}
            for key, (stand, items) in STANDS.items():
                made[key] = stands.create_stand(self.venue_id, self.organizer, currency="EUR",
                                                event_ids=[event["id"]], **stand)["id"]
                for item in items:
                    stock = scarves if item["item_id"] == "scarf" else item.get("stock")
                    menu.create_item(made[key], self.organizer, **{**item, "stock": stock})
        return event["id"], ticket_type["id"], made


def concession_order(stands, wants_scarf, rng):
    """One buyer's lines from one stand: the scarf buyers' scarf (and a cap), or food, or drinks."""
    def line(stand, item_id, quantity=1, **fields):
        return {"kind": "concession", "stand_id": stands[stand], "item_id": item_id, "quantity": quantity, **fields}

    if wants_scarf:
        return [line("merch", "scarf")] + ([line("merch", "cap")] if rng.random() < 0.3 else [])
    if rng.random() < 0.55:
        burger = line("kitchen", "burger", rng.randint(1, 3), options=[rng.choice(["ketchup", "mayo"])] + (
            ["cheese"] if rng.random() < 0.5 else []))
        return [burger] + ([line("kitchen", "fries", 1, variant_id=rng.choice(["small", "large"]))]
                           if rng.random() < 0.6 else [])
    return [line("bar", rng.choice(["beer", "soda"]), rng.randint(1, 4), age_confirmed=True)]


class Refused(Exception):
    def __init__(self, code):
        super().__init__(code)
        self.code = code


def rush(port, event_id, organizer_token, buyers):
    """Release every buyer at once; each holds its lines, orders them with its tip, and the box office marks the
    order paid. Returns ([{outcome, started, ended, steps, scarf}], release time)."""
    outcomes = [None] * len(buyers)

    def buyer(index, ready):
        token, lines, tip = buyers[index]
        ready()
        started = time.monotonic()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        outcome, steps = "ok", []

        def step(path, caller, body, expected):
            began = time.monotonic()
            connection.request("POST", path, body=json.dumps(body) if body is not None else None, headers={
                "Authorization": f"Bearer {caller}", "Content-Type": "application/json"})
            response = connection.getresponse()
            answer = json.loads(response.read())
            steps.append(time.monotonic() - began)
            if response.status != expected:
                raise Refused(answer["error"]["code"])
            return answer

        try:
            hold = step(f"/api/v1/events/{event_id}/holds", token, {"items": lines}, 201)
            order = step("/api/v1/orders", token, {"hold_id": hold["id"], "payment_method": "manual", "tip": tip}, 201)
            step(f"/api/v1/orders/{order['id']}/mark-paid", organizer_token, None, 200)
        except Refused as refusal:
            outcome = refusal.code
        except (OSError, http.client.HTTPException, ValueError, KeyError) as exc:
            outcome = f"client error: {type(exc).__name__}"
        finally:
            connection.close()
        outcomes[index] = {"outcome": outcome, "started": started, "ended": time.monotonic(), "steps": steps,
                           "scarf": any(line.get("item_id") == "scarf" for line in lines)}

    return outcomes, release_together(buyer, len(buyers))


def summarize(outcomes, released, scarves):
    ok = [o for o in outcomes if o["outcome"] == "ok"]
    refused = {}
    for o in outcomes:
        if o["outcome"] != "ok":
            refused[o["outcome"]] = refused.get(o["outcome"], 0) + 1
    scarf_ok = [o for o in ok if o["scarf"]]
    # Scarves never come back on sale during a rush (every hold is paid), so a scarf refused while fewer than
    # all were sold, or answered before another buyer's successful scarf order had started, found one free.
    last_scarf_start = max((o["started"] for o in scarf_ok), default=released)
    refused_while_free = [o for o in outcomes if o["outcome"] != "ok" and (
        not o["scarf"] or o["outcome"] != "sold_out" or len(scarf_ok) < scarves or o["ended"] < last_scarf_start)]
    elapsed = max((o["ended"] for o in ok), default=released) - released
    p50, p99 = quantiles_ms([o["ended"] - o["started"] for o in ok])
    steps = [statistics.median(o["steps"][i] for o in ok) * 1000 if ok else float("nan") for i in range(3)]
    return {"buyers": len(outcomes), "ok": len(ok), "scarves_sold": len(scarf_ok), "refused": refused,
            "refused_while_free": len(refused_while_free), "orders_per_s": len(ok) / elapsed if ok else 0.0,
            "elapsed": elapsed, "p50": p50, "p99": p99, "steps": steps}


def audit(app, stands, scarves):
    """What Firestore holds after a rush: scarves sold and in stand orders, stand orders, pickup codes."""
    from google.cloud.firestore_v1 import FieldFilter

    from app.concessions.menu import pool_id
    from app.concessions.records import STAND_ORDERS
    from app.firebase import db
    from app.inventory import units

    with app.app_context():
        scarf_pool = pool_id({"stand_id": stands["merch"], "id": "scarf"})
        sold = sum(1 for d in db().collection(units.UNITS).where(filter=FieldFilter("pool", "==", scarf_pool))
                   .stream() if d.get("state") == units.UnitState.SOLD)
        stand_orders = [d.to_dict() for key in stands for d in db().collection(STAND_ORDERS)
                        .where(filter=FieldFilter("stand_id", "==", stands[key])).stream()]
    in_orders = sum(line["quantity"] for s in stand_orders for line in s["lines"] if line["item_id"] == "scarf")
    codes = {(s["stand_id"], s["pickup_code"]) for s in stand_orders}
    return {"sold_claims": sold, "in_stand_orders": in_orders, "stand_orders": len(stand_orders),
            "duplicate_codes": len(stand_orders) - len(codes),
            "oversold": max(0, sold - scarves, in_orders - scarves)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--buyers", type=int, default=360)
    parser.add_argument("--scarves", type=int, default=50)
    parser.add_argument("--scarf-buyers", type=int, default=120)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    threading.stack_size(512 * 1024)
    started, load_before = time.monotonic(), os.getloadavg()[0]
    rng = random.Random(16)
    results = {"rush": [], "tickets": []}
    with emulators("bench-concessions-") as (stack, _, log_dir):
        print(f"logs: {log_dir}", flush=True)
        venue = Venue(make_app(log_dir), stack)
        tokens = [token for _, token in sign_up_buyers(stack.auth_host, args.buyers)]
        print(f"set-up: {len(tokens)} buyers signed up, {time.monotonic() - started:.0f} s", flush=True)
        with served(stack, log_dir, workers=args.workers, threads=args.threads) as server:
            workers = children(server.pid)
            # A worker verifies a token the first time it sees it: do that for every buyer before the rounds.
            event_id, ticket_type_id, _ = venue.event("Warm-up", args.scarves, args.buyers)
            rush(server.port, event_id, venue.token,
                 [(token, [{"ticket_type_id": ticket_type_id, "quantity": 1}], 0) for token in tokens])
            for round_ in range(args.rounds):
                for kind in (("rush", "tickets") if round_ % 2 == 0 else ("tickets", "rush")):
                    event_id, ticket_type_id, stands = venue.event(f"{kind} {round_}", args.scarves, args.buyers)
                    if kind == "rush":
                        buyers = [(token, concession_order(stands, i < args.scarf_buyers, rng),
                                   rng.choice([0, 0, 100, 200])) for i, token in enumerate(tokens)]
                    else:
                        buyers = [(token, [{"ticket_type_id": ticket_type_id, "quantity": 1}], 0) for token in tokens]
                    cpu = cpu_seconds(workers), cpu_seconds([stack.pids["firestore"]])
                    outcomes, released = rush(server.port, event_id, venue.token, buyers)
                    result = summarize(outcomes, released, args.scarves if kind == "rush" else 0)
                    result["cpu"] = (cpu_seconds(workers) - cpu[0], cpu_seconds([stack.pids["firestore"]]) - cpu[1])
                    result["lines"] = sum(len(lines) for _, lines, _ in buyers)
                    if kind == "rush":
                        result["audit"] = audit(venue.app, stands, args.scarves)
                    results[kind].append(result)
                    print(f"round {round_} {kind}: {result['ok']} orders, {result['orders_per_s']:.1f} orders/s, "
                          f"p50 {result['p50']:.0f} ms, p99 {result['p99']:.0f} ms, refused {result['refused']}"
                          + (f", audit {result['audit']}" if kind == "rush" else ""), flush=True)
    results["load"] = (load_before, os.getloadavg()[0])
    raise SystemExit(0 if report(results, args, time.monotonic() - started) else 1)


def report(results, args, seconds):
    rushes, tickets = results["rush"], results["tickets"]
    ratios = [r["orders_per_s"] / t["orders_per_s"] for r, t in zip(rushes, tickets)]
    oversold = sum(r["audit"]["oversold"] for r in rushes)
    while_free = sum(r["refused_while_free"] for r in rushes)
    per_minute = min(r["orders_per_s"] for r in rushes) * 60
    passed = oversold == 0 and while_free == 0 and per_minute >= MIN_ORDERS_PER_MINUTE and all(
        r["audit"]["duplicate_codes"] == 0 and r["audit"]["stand_orders"] == r["ok"] for r in rushes)

    def row(name, r):
        hold, order, paid = r["steps"]
        return (f"| {name} | {r['ok']} of {r['buyers']} | {r['orders_per_s']:.1f} | {r['p50']:.0f} / {r['p99']:.0f} | "
                f"{hold:.0f} / {order:.0f} / {paid:.0f} | {r['cpu'][0] / max(r['ok'], 1) * 1000:.1f} + "
                f"{r['cpu'][1] / max(r['ok'], 1) * 1000:.1f} | {r['refused'] or 0} |")

    verdict = "met" if per_minute >= MIN_ORDERS_PER_MINUTE else "missed"
    rows = "\n".join(row(f"{kind} {i}", r) for i in range(len(rushes)) for kind, r in (("rush", rushes[i]),
                                                                                          ("tickets", tickets[i])))
    audits = "; ".join(f"round {i}: {r['audit']['sold_claims']} scarf claims sold, {r['audit']['in_stand_orders']} "
                       f"scarves in {r['audit']['stand_orders']} stand orders, {r['audit']['duplicate_codes']} "
                       f"duplicate pickup codes" for i, r in enumerate(rushes))
    body = f"""
Command: `.venv/bin/python bench/concessions.py --buyers {args.buyers} --scarves {args.scarves} \
--scarf-buyers {args.scarf_buyers} --threads {args.threads} --workers {args.workers} --rounds {args.rounds}` \
({time.strftime('%Y-%m-%d')}, the whole run, set-up included: {seconds:.0f} s)

2 CPUs shared by the Firestore and Auth emulators, gunicorn ({args.workers} gthread workers x {args.threads} threads)
and the client (one thread per buyer, loopback), and whatever else the machine ran (1-minute load average
{results["load"][0]:.1f} at the start, {results["load"][1]:.1f} at the end). Before the rounds, every buyer bought a
ticket once, so that each worker had verified every buyer's token. CPU ms / order: gunicorn workers + Firestore
emulator, over the paid orders (a refused scarf buyer's hold costs too).

{args.buyers} buyers released at once (half-time), each ordering from one of three stands through the one checkout:
`POST /events/<id>/holds` with 1-3 concession lines (burgers with options, fries by size, beer and soda, scarves and
caps), `POST /orders` with a tip, `POST /orders/<id>/mark-paid` by the box office. {args.scarf_buyers} of them want
one of {args.scarves} scarves. Beside each rush, the same buyers buy one ticket each with the same three calls.

| run | paid orders | orders/s | order p50 / p99 ms | medians ms: hold / order / paid | CPU ms / order | refused |
|---|---:|---:|---:|---:|---:|---|
{rows}

Rush orders/s over ticket orders/s, per round: {", ".join(f"{r:.2f}" for r in ratios)}. Slowest rush: \
**{per_minute:.0f} orders a minute** (target ≥ {MIN_ORDERS_PER_MINUTE}: {verdict}).
Scarves oversold: **{oversold}**; buyers refused while scarves were left (or for anything but a sold-out scarf):
**{while_free}**. Audit from Firestore: {audits}.

How it was measured: each buyer is a thread with its own connection and ID token, released with the others by a
barrier; its order's latency runs from the release to the paid answer, so it includes waiting for one of
gunicorn's threads. orders/s: paid orders over the time from the release to the last paid answer. A scarf is never
released during a rush (every hold is ordered and paid), so a scarf buyer refused `sold_out` found one free only if
fewer than {args.scarves} sold or the refusal came back before another buyer's successful scarf order had started.
"""
    print(body)
    write_section("Concessions rush", body)
    return passed


if __name__ == "__main__":
    main()
