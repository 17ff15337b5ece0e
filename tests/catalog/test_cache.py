"""Public reads are cached, and a read after a change never returns the old data."""
import pytest

from app import readcache
from app.auth import Role
from app.firebase import db


@pytest.fixture
def app(make_app):
    return make_app(CACHE_TYPE="SimpleCache")


@pytest.fixture
def owner(make_user):
    return make_user(Role.ORGANIZER)


def write_behind_the_service(app, path, changes):
    with app.app_context():
        db().document(path).update(changes)


def test_event_reads_come_from_the_cache_until_the_event_changes(app, client, owner, make_event):
    event = make_event(owner)
    url = f"/api/v1/events/{event['id']}"
    assert client.get(url).json["title"] == "Jazz Night"
    write_behind_the_service(app, f"events/{event['id']}", {"title": "Not through the service"})
    assert client.get(url).json["title"] == "Jazz Night"
    assert client.patch(url, json={"title": "Jazz Night II"}, headers=owner.headers).status_code == 200
    assert client.get(url).json["title"] == "Jazz Night II"
    assert client.post(f"{url}/cancel", headers=owner.headers).status_code == 200
    assert client.get(url).json["status"] == "cancelled"
    assert client.delete(url, headers=owner.headers).status_code == 204
    assert client.get(url).status_code == 404


def test_public_lists_follow_changes(client, owner, make_event):
    first = make_event(owner)
    assert [e["id"] for e in client.get("/api/v1/events").json["items"]] == [first["id"]]
    second = make_event(owner, published=False)
    assert client.post(f"/api/v1/events/{second['id']}/publish", headers=owner.headers).status_code == 200
    assert {e["id"] for e in client.get("/api/v1/events").json["items"]} == {first["id"], second["id"]}
    client.patch(f"/api/v1/events/{first['id']}", json={"title": "Renamed"}, headers=owner.headers)
    titles = {e["title"] for e in client.get("/api/v1/events").json["items"]}
    assert titles == {"Renamed", "Jazz Night"}
    assert client.post(f"/api/v1/events/{first['id']}/cancel", headers=owner.headers).status_code == 200
    assert [e["id"] for e in client.get("/api/v1/events").json["items"]] == [second["id"]]


def test_ticket_type_lists_follow_changes(client, owner, make_event):
    event = make_event(owner)
    url = f"/api/v1/events/{event['id']}/ticket-types"
    [general] = client.get(url).json
    client.patch(f"{url}/{general['id']}", json={"price": 3100}, headers=owner.headers)
    assert [t["price"] for t in client.get(url).json] == [3100]
    client.post(url, json={"name": "VIP", "price": 9900, "currency": "EUR", "kind": "general_admission",
                           "capacity": 10}, headers=owner.headers)
    assert [t["name"] for t in client.get(url).json] == ["General admission", "VIP"]
    client.delete(f"{url}/{general['id']}", headers=owner.headers)
    assert [t["name"] for t in client.get(url).json] == ["VIP"]


def test_venue_changes_reach_cached_venues_and_events(app, client, owner, make_venue, make_event):
    venue = make_venue(owner)
    event = make_event(owner, venue=venue)
    assert client.get(f"/api/v1/venues/{venue['id']}").json["name"] == "Grand Hall"
    assert client.get(f"/api/v1/events/{event['id']}").json["venue_name"] == "Grand Hall"
    write_behind_the_service(app, f"venues/{venue['id']}", {"address": "Not through the service"})
    assert client.get(f"/api/v1/venues/{venue['id']}").json["address"] == "1 Main Street"
    client.patch(f"/api/v1/venues/{venue['id']}", json={"name": "Small Hall"}, headers=owner.headers)
    assert client.get(f"/api/v1/venues/{venue['id']}").json["name"] == "Small Hall"
    assert client.get(f"/api/v1/events/{event['id']}").json["venue_name"] == "Small Hall"


def test_a_reader_racing_a_write_cannot_cache_the_old_value(app):
    loads = []

    def load_while_a_write_commits():
        loads.append(f"value {len(loads)}")
        if len(loads) == 1:
            # The writer commits and invalidates after this reader read Firestore but before it cached.
            readcache.invalidate("family")
        return loads[-1]

    with app.app_context():
        assert readcache.cached("family", "key", load_while_a_write_commits) == "value 0"
        assert readcache.cached("family", "key", load_while_a_write_commits) == "value 1"
        assert readcache.cached("family", "key", load_while_a_write_commits) == "value 1"
    assert len(loads) == 2


def test_holds_plan_from_cached_ticket_types_and_see_every_change(app, client, owner, make_event, make_user):
    event = make_event(owner)
    url = f"/api/v1/events/{event['id']}/ticket-types"
    [general] = client.get(url).json
    ticket_type_path = f"events/{event['id']}/ticket_types/{general['id']}"

    def held_price():
        body = {"items": [{"ticket_type_id": general["id"], "quantity": 1}]}
        response = client.post(f"/api/v1/events/{event['id']}/holds", json=body, headers=make_user().headers)
        assert response.status_code == 201
        return response.json["items"][0]["unit_price"]

    write_behind_the_service(app, ticket_type_path, {"price": 1})
    assert held_price() == general["price"]
    assert client.patch(f"{url}/{general['id']}", json={"price": 3100}, headers=owner.headers).status_code == 200
    assert held_price() == 3100
