"""Offline scanners: uploads with original times and their conflicts, and the sync feed's cursors."""
import base64
import json
from datetime import timedelta

import pytest
import time_machine

from app.timeutil import utcnow
from tests.checkin.conftest import nonce


def offline_scan(code, gate, at):
    return {"code": code, "gate": gate, "nonce": nonce(), "scanned_at": at.isoformat()}


def test_two_offline_scanners_admitting_one_ticket_are_both_reported(make_door, make_user):
    door = make_door(capacity=4)
    tickets, _ = door.tickets(make_user(), 2)
    (twice_id, twice), (_, once) = tickets
    now = utcnow()
    north = door.upload([offline_scan(twice, "north", now - timedelta(minutes=5)),
                         offline_scan(once, "north", now - timedelta(minutes=4))])
    assert north.status_code == 200, north.json
    assert [r["result"] for r in north.json["results"]] == ["ok", "ok"] and north.json["conflicts"] == []
    south_scan = offline_scan(twice, "south", now - timedelta(minutes=3))
    south = door.upload([south_scan])
    assert south.status_code == 200
    [result] = south.json["results"]
    assert result["result"] == "already_checked_in" and result["conflict"] is True
    [conflict] = south.json["conflicts"]
    assert conflict["ticket_id"] == twice_id
    assert [(s["gate"], s["source"]) for s in conflict["scans"]] == [("north", "offline"), ("south", "offline")]
    assert conflict["scans"][1]["at"] == south_scan["scanned_at"].replace("+00:00", "+00:00")
    # Uploading the same batch again (a retry after a timeout) reports the same, and counts nothing twice.
    again = door.upload([south_scan])
    assert again.json["conflicts"] == south.json["conflicts"] and again.json["results"][0]["replayed"] is True
    stats = door.stats().json
    assert (stats["checked_in"], stats["entries"], stats["conflicts"]) == (2, 2, 1)


def test_within_one_upload_the_earliest_scan_is_the_admission(make_door, make_user):
    door = make_door()
    [(_, code)], _ = door.tickets(make_user())
    now = utcnow()
    later, earlier = offline_scan(code, "south", now - timedelta(minutes=1)), offline_scan(code, "north", now
                                                                                          - timedelta(minutes=2))
    response = door.upload([later, earlier, offline_scan("garbage", "north", now)])
    assert [r["result"] for r in response.json["results"]] == ["already_checked_in", "ok", "invalid_signature"]
    assert [c["scans"][0]["gate"] for c in response.json["conflicts"]] == ["north"]
    assert door.scan(code).json["first_checkin"]["gate"] == "north"


def test_an_offline_scan_before_the_refund_stands_one_after_it_is_void(make_door, make_user):
    door = make_door(capacity=3)
    tickets, order = door.tickets(make_user(), 2)
    (first_id, first), (second_id, second) = tickets
    before = utcnow()
    assert door.shop.refund(door.owner, order["id"]).status_code in (200, 201)
    response = door.upload([offline_scan(first, "north", before - timedelta(seconds=1)),
                            offline_scan(second, "north", utcnow() + timedelta(seconds=1))])
    assert [r["result"] for r in response.json["results"]] == ["ok", "void"]


def test_an_upload_from_the_future_or_with_repeated_nonces_is_refused(make_door, make_user):
    door = make_door()
    [(_, code)], _ = door.tickets(make_user())
    assert door.upload([offline_scan(code, "north", utcnow() + timedelta(hours=1))]).status_code == 422
    scan = offline_scan(code, "north", utcnow())
    assert door.upload([scan, scan]).status_code == 422
    assert door.stats().json["scans"] == 0


def test_sync_sends_every_ticket_then_only_changes_including_voids_and_checkins(make_door, make_user):
    door = make_door(capacity=5)
    tickets, order = door.tickets(make_user(), 3)
    first = door.sync(limit=2)
    assert first.status_code == 200, first.json
    assert len(first.json["tickets"]) == 2 and first.json["more"] is True
    second = door.sync(first.json["next_cursor"], limit=2)
    assert second.json["more"] is False
    seen = {t["ticket_id"]: t["state"] for t in first.json["tickets"] + second.json["tickets"]}
    assert seen == {ticket_id: "valid" for ticket_id, _ in tickets}
    cursor = second.json["next_cursor"]

    with time_machine.travel(utcnow() + timedelta(minutes=2), tick=True):
        # A finished pass restarts SYNC_OVERLAP before it began: recent changes come once more, then no more.
        overlap = door.sync(cursor).json
        assert {t["ticket_id"] for t in overlap["tickets"]} <= set(seen)
        quiet = door.sync(overlap["next_cursor"])
        assert (quiet.json["tickets"], quiet.json["checkins"], quiet.json["more"]) == ([], [], False)
        cursor = quiet.json["next_cursor"]
        refunded_id, scanned_id = tickets[0][0], tickets[1][0]
        assert door.shop.refund(door.owner, order["id"], [refunded_id]).status_code in (200, 201)
        assert door.scan(tickets[1][1], gate="east").json["result"] == "ok"
        changes = door.sync(cursor).json
    assert [(t["ticket_id"], t["state"]) for t in changes["tickets"]] == [(refunded_id, "voided")]
    assert [(c["ticket_id"], c["gate"]) for c in changes["checkins"]] == [(scanned_id, "east")]


def test_a_cursor_that_was_not_handed_out_is_a_400(make_door):
    door = make_door()
    for bad in ("nonsense", "eyJoIjpudWxsfQ"):
        response = door.sync(bad)
        assert response.status_code == 400 and response.json["error"]["code"] == "invalid_cursor"


def test_a_scan_backdated_to_before_the_ticket_existed_does_not_admit_it_after_its_refund(make_door, make_user):
    # Doors opened three hours ago: a scan dated an hour ago is inside opening hours, but the ticket was
    # bought, and refunded, just now, so no scanner can have read its code then.
    door = make_door(starts_in=timedelta(hours=1))
    [(_, code)], order = door.tickets(make_user())
    assert door.shop.refund(door.owner, order["id"]).status_code in (200, 201)
    response = door.upload([offline_scan(code, "north", utcnow() - timedelta(hours=1))])
    assert response.status_code == 200, response.json
    [result] = response.json["results"]
    assert (result["result"], result["reason"]) == ("void", "backdated")
    assert door.stats().json["checked_in"] == 0


def test_a_scan_within_a_scanners_clock_drift_of_the_issue_still_counts(make_door, make_user):
    door = make_door()
    [(_, code)], _ = door.tickets(make_user())
    response = door.upload([offline_scan(code, "north", utcnow() - timedelta(minutes=2))])
    assert [r["result"] for r in response.json["results"]] == ["ok"]


def sync_cursor(horizon, tickets, checkins):
    raw = json.dumps({"h": horizon, "tickets": tickets, "checkins": checkins}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize("tickets, checkins, horizon", [
    (["0001-01-01T00:00:00+01:00", None, False], [None, None, True], None),
    ([None, None, True], [None, None, True], "9999-12-31T23:30:00-01:00"),
    (["2030-01-01T00:00:00+00:00", "a/b", False], [None, None, True], None),
    (["2030-01-01T00:00:00+00:00", "__x__", False], [None, None, True], None),
    (["2030-01-01T00:00:00+00:00", "", False], [None, None, True], None),
    ([None, "0123456789abcdef0123456789abcdef", False], [None, None, True], None),
    ([None, None, True], ["2030-01-01T00:00:00+00:00", "\ud800", False], None),
    ([None, None, True], ["2030-01-01T00:00:00", None, False], None),
])
def test_a_crafted_sync_cursor_is_a_400_not_a_500(make_door, tickets, checkins, horizon):
    door = make_door()
    response = door.sync(sync_cursor(horizon, tickets, checkins))
    assert response.status_code == 400, response.json
    assert response.json["error"]["code"] == "invalid_cursor"
