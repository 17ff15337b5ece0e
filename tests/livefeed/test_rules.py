"""database.rules.json, evaluated offline by targaryen (npm, installed by devstack/bootstrap.sh)."""
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from app.livefeed.service import availability_path, hold_path, lot_path

ROOT = Path(__file__).resolve().parents[2]
ANNA, BORIS = {"uid": "anna"}, {"uid": "boris"}
ADMIN = {"uid": "root", "token": {"role": "admin"}}
AVAILABILITY = "/" + availability_path("e1")
ANNAS_HOLD = "/" + hold_path("anna", "h1")
ANNAS_STAND_ORDER = "/live/users/anna/orders/o1/stands/s1"
QUEUE = "/live/stands/s1/queue/e1"
LOT = "/" + lot_path("lot1")
DATA = {"live": {"events": {"e1": {"availability": {"event_id": "e1", "ticket_types": [{"remaining": 3}]}}},
                 "stands": {"s1": {"queue": {"e1": {"received": 3, "preparing": 1, "ready": 0}}}},
                 "parking": {"lot1": {"lot_id": "lot1", "kinds": [{"kind": "standard", "available": 4}]}},
                 "users": {"anna": {"holds": {"h1": {"id": "h1", "state": "active"}},
                                    "orders": {"o1": {"stands": {"s1": {"state": "ready", "pickup_code": "K7QX4F"}}}}},
                           "boris": {"holds": {"h2": {"id": "h2", "state": "active"}}}}},
        "private": {"x": 1}}

ALLOWED = [
    ("anyone reads an event's availability", None, "read", AVAILABILITY, None),
    ("a signed-in user reads an event's availability", ANNA, "read", AVAILABILITY, None),
    ("anyone reads part of an event's availability", None, "read", AVAILABILITY + "/ticket_types/0", None),
    ("a buyer reads her holds", ANNA, "read", "/live/users/anna/holds", None),
    ("a buyer reads one of her holds", ANNA, "read", ANNAS_HOLD, None),
    ("a buyer reads her stand orders", ANNA, "read", "/live/users/anna/orders", None),
    ("a buyer reads one of her stand orders", ANNA, "read", ANNAS_STAND_ORDER, None),
    ("anyone reads a stand's queue count", None, "read", QUEUE, None),
    ("anyone reads a stand's queue counts for every event", None, "read", "/live/stands/s1/queue", None),
    ("anyone reads a lot's occupancy", None, "read", LOT, None),
    ("a signed-in user reads part of a lot's occupancy", ANNA, "read", LOT + "/kinds/0", None),
]
DENIED = [
    ("anyone reads a buyer's holds", None, "read", "/live/users/anna/holds", None),
    ("another user reads a buyer's holds", BORIS, "read", "/live/users/anna/holds", None),
    ("another user reads one of a buyer's holds", BORIS, "read", ANNAS_HOLD, None),
    ("a buyer reads her whole user node", ANNA, "read", "/live/users/anna", None),
    ("a user lists all users", ANNA, "read", "/live/users", None),
    ("anyone lists all events", None, "read", "/live/events", None),
    ("anyone reads an event's whole node", None, "read", "/live/events/e1", None),
    ("a user reads the feed's root", ANNA, "read", "/live", None),
    ("a user reads the database root", ANNA, "read", "/", None),
    ("a user reads anything else", ANNA, "read", "/private", None),
    ("anyone reads an unknown node under an event", None, "read", "/live/events/e1/secret", None),
    ("a buyer writes her own hold", ANNA, "write", ANNAS_HOLD, {"id": "h1", "state": "converted"}),
    ("a buyer deletes her own hold", ANNA, "write", ANNAS_HOLD, None),
    ("a buyer creates a hold for herself", ANNA, "write", "/live/users/anna/holds/h9", {"id": "h9"}),
    ("anyone writes availability", None, "write", AVAILABILITY, {"ticket_types": []}),
    ("a signed-in user updates availability", ANNA, "update", AVAILABILITY, {"ticket_types/0/remaining": 99}),
    ("an admin's token writes availability", ADMIN, "write", AVAILABILITY, {"ticket_types": []}),
    ("a user writes the database root", ANNA, "write", "/", {"live": None}),
    ("a user writes elsewhere", ANNA, "write", "/private/y", 1),
    ("anyone reads a buyer's stand orders", None, "read", "/live/users/anna/orders", None),
    ("another user reads a buyer's stand order", BORIS, "read", ANNAS_STAND_ORDER, None),
    ("a buyer writes her stand order", ANNA, "write", ANNAS_STAND_ORDER, {"state": "completed"}),
    ("anyone lists all stands", None, "read", "/live/stands", None),
    ("anyone reads a stand's whole node", None, "read", "/live/stands/s1", None),
    ("a signed-in user writes a stand's queue count", ANNA, "write", QUEUE, {"received": 0}),
    ("anyone lists all lots", None, "read", "/live/parking", None),
    ("anyone writes a lot's occupancy", None, "write", LOT, {"kinds": []}),
    ("a signed-in user updates a lot's occupancy", ANNA, "update", LOT, {"kinds/0/available": 99}),
    ("an admin's token writes a lot's occupancy", ADMIN, "write", LOT, {"kinds": []}),
    ("a signed-in user creates a lot's entry", ANNA, "write", "/" + lot_path("lot2"), {"kinds": []}),
]


@pytest.fixture(scope="module")
def verdicts():
    node = shutil.which("node")
    assert node, "node is not on PATH: run `make bootstrap`"
    assert (ROOT / "node_modules/targaryen").is_dir(), "targaryen is not installed: run `make bootstrap`"
    cases = [{"auth": auth, "op": op, "path": path, "value": value} for _, auth, op, path, value in ALLOWED + DENIED]
    result = subprocess.run(
        [node, str(ROOT / "tests/livefeed/rules_check.js")], cwd=ROOT, capture_output=True, text=True, timeout=60,
        input=json.dumps({"rules": str(ROOT / "database.rules.json"), "data": DATA, "cases": cases}),
    )
    assert result.returncode == 0, result.stderr
    answers = json.loads(result.stdout)
    return {case[0]: answer for case, answer in zip(ALLOWED + DENIED, answers)}


@pytest.mark.parametrize("name", [case[0] for case in ALLOWED])
def test_allowed(verdicts, name):
    assert verdicts[name]["allowed"], verdicts[name]["info"]


@pytest.mark.parametrize("name", [case[0] for case in DENIED])
def test_denied(verdicts, name):
    assert not verdicts[name]["allowed"], verdicts[name]["info"]
