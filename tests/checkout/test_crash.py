"""A hold interrupted at any point leaves the invariants true: nothing half-written, nothing oversold."""
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from google.cloud.firestore_v1 import FieldFilter
from google.cloud.firestore_v1.batch import WriteBatch

from app.firebase import db
from app.inventory import units
from app.checkout.holds import HOLD_SLOTS, HOLDS
from app.timeutil import utcnow

ROOT = Path(__file__).resolve().parent.parent.parent


def assert_invariants(app, sale, capacity):
    """Every live claim belongs to an active hold that lists it, and claims never exceed capacity."""
    with app.app_context():
        now = utcnow()
        claims = list(db().collection(units.UNITS)
                      .where(filter=FieldFilter("pool", "==", sale.general["id"])).stream())
        holds = {d.id: d.to_dict() for d in db().collection(HOLDS)
                 .where(filter=FieldFilter("event_id", "==", sale.id)).stream()}
        slots = list(db().collection(HOLD_SLOTS).where(filter=FieldFilter("event_id", "==", sale.id)).stream())
    live = [c for c in claims if c.get("live_until") > now]
    for claim in live:
        hold = holds.get(claim.get("hold_id"))
        assert hold is not None and hold["state"] == "active" and claim.id in hold["unit_ids"]
    active = [h for h in holds.values() if h["state"] == "active" and h["expires_at"] > now]
    assert sum(line["quantity"] for h in active for line in h["items"]) == len(live) <= capacity
    assert {s.get("hold_id") for s in slots if s.get("live_until") > now} == {h["id"] for h in active}
    return len(live)


def test_a_write_that_fails_half_way_leaves_nothing_and_a_retry_holds_once(app, make_sale, make_user, monkeypatch):
    sale = make_sale(capacity=5)
    buyer = make_user()
    real_commit = WriteBatch.commit

    def crash(self, *args, **kwargs):
        raise ConnectionResetError("injected: the process lost Firestore mid-commit")

    monkeypatch.setattr(WriteBatch, "commit", crash)
    failed = sale.hold(buyer, 2, key="retry-me")
    assert failed.status_code == 500
    assert sale.remaining() == 5
    assert assert_invariants(app, sale, 5) == 0

    monkeypatch.setattr(WriteBatch, "commit", real_commit)
    retried = sale.hold(buyer, 2, key="retry-me")
    assert retried.status_code == 201
    assert sale.hold(buyer, 2, key="retry-me").json["id"] == retried.json["id"]
    assert sale.remaining() == 3
    assert assert_invariants(app, sale, 5) == 2


SCRIPT = textwrap.dedent("""
    import sys
    from app import create_app
    from app.config import TestingConfig
    from app.checkout.holds import place_hold
    from app.errors import AppError

    event_id, ticket_type_id, log_dir = sys.argv[1:4]
    app = create_app(TestingConfig(LOG_DIR=log_dir, MAX_ACTIVE_HOLDS_PER_EVENT=1000))
    with app.app_context():
        for i in range(1000):
            try:
                hold = place_hold(event_id, "crash-buyer", lines=[{"kind": "ticket", "ticket_type_id": ticket_type_id,
                                                                   "quantity": 1 + i % 3}])
                print(hold["id"], flush=True)
            except AppError as error:
                print(error.code, flush=True)
""")


def test_a_process_killed_while_holding_leaves_the_invariants_true(app, make_sale, tmp_path):
    sale = make_sale(capacity=40, per_order_limit=3)
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, sale.id, sale.general["id"], str(tmp_path)], cwd=ROOT,
                            env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        lines = 0
        deadline = time.monotonic() + 60
        while lines < 6 and time.monotonic() < deadline:
            if proc.stdout.readline():
                lines += 1
        assert lines == 6, "the holding process did not get going"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
    held = assert_invariants(app, sale, 40)
    assert held >= 6
    assert sale.remaining() == 40 - held
