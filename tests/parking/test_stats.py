"""The venue's figures for a lot: occupancy over time, revenue by kind and source, average stay, multipliers."""
from datetime import timedelta

from tests.parking.conftest import evening, slot_start


def test_stats_add_up_what_was_booked_parked_paid_and_refunded(make_garage, make_user, client):
    garage = make_garage(zones=[{"id": "P1", "kind": "standard", "count": 2}])
    start = evening(days=1)
    cheap = garage.paid(make_user(), start=start, end=start + timedelta(hours=2))
    # One of two spaces taken for the window: the 50% band makes the next booking x1.25.
    dear = garage.paid(make_user(), start=start, end=start + timedelta(hours=2))
    accessible = garage.paid(make_user(), kind="accessible", start=start, end=start + timedelta(hours=1))
    assert garage.shop.refund(garage.owner, accessible["id"]).status_code == 201
    visit = garage.pass_of(garage.paid(make_user()))
    garage.scan("entry", code=visit["code"])
    garage.scan_at(slot_start() + timedelta(minutes=45), "exit", code=visit["code"])
    session = client.post(f"{garage.path}/sessions", headers=garage.staff.headers,
                          json={"plate": "ST 1", "event_id": garage.event["id"]}).json
    garage.scan_at(slot_start() + timedelta(minutes=40), "exit", plate="ST1")
    settled = client.post(f"/api/v1/parking-sessions/{session['id']}/settlement", headers=garage.staff.headers,
                          json={"payment_method": "manual"})
    assert settled.status_code == 200, settled.json

    stats = client.get(f"{garage.path}/stats", headers=garage.owner.headers, query_string={
        "from": (slot_start() - timedelta(hours=1)).isoformat(), "to": (start + timedelta(hours=3)).isoformat()})
    assert stats.status_code == 200, stats.json
    body = stats.json
    assert (body["bookings"], body["sessions"], body["spaces"]) == (4, 1, 3)
    prices = [cheap["total"], dear["total"], accessible["total"], visit["price"]]
    assert cheap["total"] == 600 and dear["total"] == 750 and accessible["total"] == 200
    by_kind = {row["kind"]: row for row in body["revenue_by_kind"]}
    session_paid = settled.json["session"]["amount_paid"]
    assert by_kind["standard"]["gross"] == 600 + 750 + visit["price"] + session_paid
    assert (by_kind["accessible"]["gross"], by_kind["accessible"]["refunds"], by_kind["accessible"]["revenue"]) == (
        200, 200, 0)
    assert body["revenue"] == sum(prices) - 200 + session_paid
    sources = {row["source"]: row for row in body["revenue_by_source"]}
    assert (sources["reservation"]["count"], sources["drive_up"]["count"], sources["drive_up"]["gross"]) == (
        4, 1, session_paid)
    # The drive-up arrived with one of the two standard spaces taken (the visit's): x1.25 too.
    assert settled.json["session"]["multiplier_bp"] == 12500
    assert body["multiplier"] == {"average_bp": round((10000 + 12500 + 10000 + 10000 + 12500) / 5),
                                  "min_bp": 10000, "max_bp": 12500, "above_base": 2}
    assert body["stays_measured"] == 2 and body["average_stay_minutes"] > 0
    at_start = next(p for p in body["occupancy"] if p["at"].startswith(start.isoformat()[:16]))
    assert at_start["occupied"] == 2  # the refunded accessible booking no longer counts
