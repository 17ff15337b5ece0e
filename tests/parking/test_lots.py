"""Lots at a venue: its owner manages them, the public sees active ones with free spaces per kind, spaces only
grow, bad lots are refused with nothing written, and a lot in use is not deleted."""
from datetime import timedelta

import pytest

from app.auth import Role
from tests.parking.conftest import PRICING, error, evening, lot_body


def test_a_lot_shows_its_spaces_and_free_spaces_per_kind(make_garage, client, make_user):
    garage = make_garage(zones=[{"id": "P1", "kind": "standard", "count": 3}, {"id": "EV", "kind": "ev", "count": 2}],
                         spaces=[{"id": "A1", "kind": "accessible"}])
    lot = client.get(garage.path).json
    assert (lot["space_kinds"], lot["spaces_total"]) == ({"standard": 3, "accessible": 1, "ev": 2}, 6)
    assert lot["geo"] == {"lat": 52.52, "lng": 13.40} and lot["slot_minutes"] == 15
    garage.book(make_user(), kind="ev")
    kinds = {k["kind"]: k for k in client.get(garage.path).json["availability"]["kinds"]}
    assert (kinds["ev"]["available"], kinds["ev"]["occupied"], kinds["standard"]["available"]) == (1, 1, 3)
    listed = client.get(f"/api/v1/venues/{garage.lot['venue_id']}/parking-lots").json
    assert [item["id"] for item in listed["items"]] == [garage.lot["id"]]


def test_an_inactive_lot_is_its_managers_only_and_sells_nothing(make_garage, client, make_user):
    garage = make_garage()
    quote = garage.fresh_quote(start=evening(), end=evening() + timedelta(hours=1))
    assert client.patch(garage.path, json={"active": False}, headers=garage.owner.headers).status_code == 200
    assert error(client.get(garage.path)) == (404, "not_found")
    assert client.get(garage.path, headers=garage.owner.headers).json["active"] is False
    venue_lots = f"/api/v1/venues/{garage.lot['venue_id']}/parking-lots"
    assert client.get(venue_lots).json["items"] == []
    assert len(client.get(venue_lots, headers=garage.owner.headers).json["items"]) == 1
    # A quote handed out before the lot closed is not honoured for a booking any more.
    assert error(garage.hold(make_user(), quote)) == (409, "lot_inactive")


def test_spaces_are_added_never_removed_or_given_another_kind(make_garage, client, snapshot):
    garage = make_garage()
    more = {"zones": [{"id": "P1", "kind": "standard", "count": 5}], "spaces": [{"id": "A1", "kind": "accessible"}]}
    grown = client.patch(garage.path, json=more, headers=garage.owner.headers)
    assert grown.status_code == 200 and grown.json["space_kinds"] == {"standard": 5, "accessible": 1}
    before = snapshot()
    for change in ({"zones": [{"id": "P1", "kind": "standard", "count": 4}]},
                   {"spaces": [{"id": "A1", "kind": "ev"}], "pricing": PRICING},
                   {"spaces": []}):
        assert error(client.patch(garage.path, json=change, headers=garage.owner.headers)) == (409, "spaces_in_use")
    assert snapshot() == before


@pytest.mark.parametrize("change, field", [
    ({"geo": {"lat": 91, "lng": 13}}, "geo"),
    ({"geo": {"lat": 52, "lng": -180.5}}, "geo"),
    ({"geo": {"lat": "north", "lng": 13}}, "geo"),
    ({"timezone": "Mars/Olympus"}, "timezone"),
    ({"zones": [{"id": "P1", "kind": "standard", "count": 0}]}, "zones"),
    ({"zones": [{"id": "P1", "kind": "helipad", "count": 2}]}, "zones"),
    ({"zones": [{"id": "P1", "kind": "standard", "count": 2}], "spaces": [{"id": "P1-2", "kind": "standard"}]},
     "spaces"),
    ({"zones": [], "spaces": []}, "zones"),
    ({"pricing": {**PRICING, "hourly": {"standard": 300}}}, "pricing"),
    ({"pricing": {**PRICING, "floor_bp": 15000, "ceiling_bp": 12000}}, "pricing"),
    ({"pricing": {**PRICING, "occupancy_bands": [{"from_percent": 50, "multiplier_bp": 12000}] * 2}}, "pricing"),
    ({"pricing": {**PRICING, "currency": "EURO"}}, "pricing"),
    ({"opening_hours": {"opens": "08:00", "closes": "08:00"}}, "opening_hours"),
    ({"opening_hours": {"opens": "25:00", "closes": "08:00"}}, "opening_hours"),
    ({"slot_minutes": 7}, "slot_minutes"),
])
def test_bad_lots_are_refused_with_nothing_written(app, client, make_user, make_venue, snapshot, change, field):
    owner = make_user(Role.ORGANIZER)
    venue = make_venue(owner)
    before = snapshot()
    response = client.post(f"/api/v1/venues/{venue['id']}/parking-lots", json=lot_body(**change),
                           headers=owner.headers)
    assert error(response) == (422, "validation_error") and field in response.json["error"]["details"]["fields"]
    assert snapshot() == before


def test_a_lot_in_use_is_not_deleted_until_its_bookings_are_gone(make_garage, client, make_user):
    garage = make_garage()
    buyer = make_user()
    paid = garage.paid(buyer, start=evening(), end=evening() + timedelta(hours=1))
    assert error(client.delete(garage.path, headers=garage.owner.headers)) == (409, "lot_in_use")
    assert garage.shop.refund(garage.owner, paid["id"]).status_code == 201
    assert client.delete(garage.path, headers=garage.owner.headers).status_code == 204
    assert error(client.get(garage.path, headers=garage.owner.headers)) == (404, "not_found")
    assert client.get(f"/api/v1/parking-passes/{garage.pass_of(paid, buyer)['id']}",
                      headers=buyer.headers).json["state"] == "voided"
