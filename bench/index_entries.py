"""What one ticket sold writes to Firestore: documents and index entries per collection, hold and sale apart.

    .venv/bin/python bench/index_entries.py [--tickets 20]

Starts the Firestore and Auth emulators on free ports, creates a published
sale through the app's services, and sells --tickets tickets one by one the
way the box office does (place_hold, create_order, mark_paid: the order's
signals run in this process, so their writes are counted too). Every commit
request the client library sends is captured; each write is counted by
collection, and its index entries are computed from the document as sent and
firestore.indexes.json, by Firestore's automatic indexing rules: two entries
(ascending, descending) per indexed scalar field, map subfields indexed
recursively, one array-contains entry per distinct array element, none for a
field the file exempts, and one entry per composite index whose fields the
document has (times the elements of an array field in it). Reads are
counted by bench/firestore_ops.py. Deletes are writes without index entries
of their own (their entries are removed, which Firestore does not bill).
The emulator keeps no indexes, so these are Firestore's rules applied to
the real documents, not a measurement of Firestore's storage. Results go to
stdout and to the "Writes and index entries per ticket" section of
bench/RESULTS.md, for bench/SCALE.md.
"""
import argparse
import json
import threading
from collections import Counter, defaultdict
from datetime import timedelta

from google.cloud.firestore_v1.services.firestore.client import FirestoreClient

import firestore_ops
from harness import ROOT, emulators, make_app, write_section

PASSWORD = "bench-pass-123"


def _overrides():
    spec = json.loads((ROOT / "firestore.indexes.json").read_text())
    exempt = {(o["collectionGroup"], o["fieldPath"]) for o in spec.get("fieldOverrides", []) if not o["indexes"]}
    composites = defaultdict(list)
    for index in spec["indexes"]:
        composites[index["collectionGroup"]].append([f["fieldPath"] for f in index["fields"]])
    return exempt, composites


def _single_field_entries(collection, fields, exempt, prefix=""):
    entries = 0
    for name, value in fields.items():
        path = f"{prefix}{name}"
        if (collection, path) in exempt:
            continue
        kind = value.WhichOneof("value_type")
        if kind == "map_value":
            entries += _single_field_entries(collection, value.map_value.fields, exempt, prefix=f"{path}.")
        elif kind == "array_value":
            entries += len({v.SerializeToString() for v in value.array_value.values})
        else:
            entries += 2
    return entries


def _lookup(fields, path):
    value = None
    for part in path.split("."):
        if fields is None or part not in fields:
            return None
        value = fields[part]
        fields = value.map_value.fields if value.WhichOneof("value_type") == "map_value" else None
    return value


def _composite_entries(collection, fields, composites):
    entries = 0
    for paths in composites.get(collection, []):
        values = [_lookup(fields, p) for p in paths]
        if any(v is None for v in values):
            continue
        product = 1
        for value in values:
            if value.WhichOneof("value_type") == "array_value":
                product *= len(value.array_value.values)
        entries += product
    return entries


class Writes:
    """Every write of every commit this process sends, by collection."""

    def __init__(self):
        self.exempt, self.composites = _overrides()
        self.lock = threading.Lock()
        self.counts = defaultdict(Counter)

    def record(self, request):
        writes = request.writes if hasattr(request, "writes") else request.get("writes", [])
        with self.lock:
            for write in writes:
                pb = getattr(write, "_pb", write)
                operation = pb.WhichOneof("operation")
                path = pb.update.name if operation == "update" else pb.delete if operation == "delete" else None
                if path is None:
                    continue
                collection = path.split("/documents/", 1)[1].split("/")[-2]
                row = self.counts[collection]
                row["writes"] += 1
                if operation == "update":
                    fields = pb.update.fields
                    row["single-field entries"] += _single_field_entries(collection, fields, self.exempt)
                    row["composite entries"] += _composite_entries(collection, fields, self.composites)
                else:
                    row["deletes"] += 1

    def snapshot(self):
        with self.lock:
            return {c: Counter(row) for c, row in self.counts.items()}


def capture(writes):
    commit = FirestoreClient.commit

    def recording(self, request=None, *args, **kwargs):
        writes.record(request)
        return commit(self, request, *args, **kwargs)

    FirestoreClient.commit = recording


def difference(after, before):
    return {c: row - before.get(c, Counter()) for c, row in after.items() if row - before.get(c, Counter())}


def sell(app, tickets):
    from app.auth import CurrentUser, Role
    from app.checkout import holds
    from app.events import lifecycle, ticket_types
    from app.events import service as events
    from app.firebase import get_firebase
    from app.orders import service as orders
    from app.orders import settlement
    from app.timeutil import utcnow
    from app.users import service as users
    from app.venues import service as venues

    writes, tally = Writes(), firestore_ops.Tally()
    with app.app_context():
        account = get_firebase().create_user(email="organizer@bench.test", password=PASSWORD)
        users.set_role(account.uid, Role.ORGANIZER)
        organizer = CurrentUser(uid=account.uid, email=account.email, role=Role.ORGANIZER)
        venue = venues.create_venue(organizer, name="Bench Arena", address="1 Loop Road", city="Berlin",
                                    country="DE", capacity=100_000)
        starts = utcnow().replace(microsecond=0) + timedelta(days=30)
        event = events.create_event(organizer, venue_id=venue["id"], title="Index count", category="music",
                                    starts_at=starts, ends_at=starts + timedelta(hours=3), timezone="Europe/Berlin")
        ticket_type = ticket_types.create_ticket_type(event["id"], organizer, name="General admission", price=2500,
                                                      currency="EUR", kind="general_admission", capacity=tickets * 2,
                                                      per_order_limit=4)
        lifecycle.publish_event(event["id"], organizer)
        buyers = [get_firebase().create_user(email=f"buyer{n}@bench.test", password=PASSWORD).uid
                  for n in range(tickets)]
        capture(writes)
        firestore_ops.install(tally)
        phases = {"hold": (Counter(), defaultdict(Counter)), "order and payment": (Counter(), defaultdict(Counter))}

        def counted(phase, work):
            """Run ``work()``, adding what it read and wrote to ``phase``; what it returns."""
            written, read = writes.snapshot(), tally.snapshot()
            result = work()
            ops = firestore_ops.diff(tally.snapshot(), read)
            reads, rows = phases[phase]
            reads.update(reads=firestore_ops.reads(ops), rpcs=firestore_ops.rpcs(ops))
            for collection, row in difference(writes.snapshot(), written).items():
                rows[collection].update(row)
            return result

        def pay(hold):
            order = orders.create_order(hold["buyer_uid"], hold_id=hold["id"], payment_method="manual")
            settlement.mark_paid(order["id"], organizer)

        for buyer in buyers:
            hold = counted("hold", lambda: holds.place_hold(event["id"], buyer, lines=[
                {"kind": "ticket", "ticket_type_id": ticket_type["id"], "quantity": 1}]))
            counted("order and payment", lambda: pay(hold))
    return phases


def report(phases, tickets):
    lines = [f"Command: `.venv/bin/python bench/index_entries.py --tickets {tickets}` ({tickets} tickets sold one "
             "by one through place_hold, create_order and mark_paid in this process; per ticket, averaged).", ""]
    for name, (reads, rows) in phases.items():
        total = Counter()
        lines += [f"**{name}**: {reads['rpcs'] / tickets:.2f} RPCs, {reads['reads'] / tickets:.2f} documents read "
                  "per ticket.", "",
                  "| collection | writes | of which deletes | single-field index entries | composite index entries |",
                  "|---|---:|---:|---:|---:|"]
        for collection, row in sorted(rows.items()):
            total.update(row)
            lines.append(f"| {collection} | {row['writes'] / tickets:.2f} | {row['deletes'] / tickets:.2f} | "
                         f"{row['single-field entries'] / tickets:.1f} | {row['composite entries'] / tickets:.1f} |")
        single, composite = total["single-field entries"] / tickets, total["composite entries"] / tickets
        lines += [f"| **all** | **{total['writes'] / tickets:.2f}** | {total['deletes'] / tickets:.2f} | "
                  f"**{single:.1f}** | **{composite:.1f}** |", ""]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=20)
    args = parser.parse_args()
    with emulators("bench-index-") as (stack, _, log_dir):
        app = make_app(log_dir)
        phases = sell(app, args.tickets)
    body = report(phases, args.tickets)
    print(body)
    write_section("Writes and index entries per ticket", body)


if __name__ == "__main__":
    main()
