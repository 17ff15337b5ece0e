"""Parking occupancy at /live/parking/<lot_id>: the lot's free spaces per kind, as its availability endpoint
shows them, after bookings, releases, payments, refunds, drive-ups and exits."""
from app.livefeed.service import lot_path
from tests.parking.conftest import make_garage  # noqa: F401  (the fixture, for this directory)


def kinds(entry):
    return {k["kind"]: k["available"] for k in entry["kinds"]}


def test_occupancy_follows_bookings_payments_refunds_and_drive_ups(make_garage, make_user, feed):  # noqa: F811
    garage = make_garage(zones=[{"id": "P1", "kind": "standard", "count": 2}])
    path = lot_path(garage.lot["id"])
    feed.flush()
    assert kinds(feed.get(path)) == {"standard": 2, "accessible": 1}

    buyer = make_user()
    hold = garage.book(buyer)
    feed.flush()
    assert kinds(feed.get(path)) == {"standard": 1, "accessible": 1}
    assert garage.shop.sale.release(buyer, hold["id"]).status_code == 200
    feed.flush()
    assert kinds(feed.get(path))["standard"] == 2

    paid = garage.paid(make_user())
    session = garage.client.post(f"{garage.path}/sessions", headers=garage.staff.headers,
                                 json={"plate": "LIVE 1", "event_id": garage.event["id"]})
    assert session.status_code == 201
    feed.flush()
    entry = feed.get(path)
    assert kinds(entry)["standard"] == 0 and entry["lot_id"] == garage.lot["id"] and entry["as_of"]
    assert entry["kinds"] == garage.client.get(f"{garage.path}/availability").json["kinds"]

    assert garage.scan("exit", plate="LIVE1")["result"] == "ok"
    assert garage.shop.refund(garage.owner, paid["id"]).status_code == 201
    feed.flush()
    assert kinds(feed.get(path))["standard"] == 2

    # An inactive lot leaves the feed.
    assert garage.client.patch(garage.path, json={"active": False}, headers=garage.owner.headers).status_code == 200
    feed.flush()
    assert feed.get(path) is None
