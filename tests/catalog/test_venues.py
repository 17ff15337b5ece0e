import pytest

from app.auth import Role
from tests.factories import SEAT_MAP, event_data, venue_data


def fields_of(response):
    assert response.status_code == 422, response.json
    return set(response.json["error"]["details"]["fields"])


@pytest.mark.parametrize("change, fields", [
    ({"name": ""}, {"name"}),
    ({"country": "Germany"}, {"country"}),
    ({"capacity": 0}, {"capacity"}),
    ({"capacity": "500"}, {"capacity"}),
    ({"geo": {"lat": 91, "lng": 0}}, {"geo"}),
    ({"colour": "red"}, {"colour"}),
    ({"capacity": 3}, {"capacity"}),
    ({"seat_map": {"sections": [SEAT_MAP["sections"][0], SEAT_MAP["sections"][0]]}}, {"seat_map"}),
    ({"seat_map": {"sections": [{"id": "a:b", "name": "x", "rows": [{"label": "A", "seats": ["1"]}]}]}},
     {"seat_map"}),
    ({"seat_map": {"sections": [{"id": "a", "name": "x", "rows": [{"label": "A", "seats": ["1", "1"]}]}]}},
     {"seat_map"}),
])
def test_create_venue_validation_names_the_field(client, make_user, change, fields):
    organizer = make_user(Role.ORGANIZER)
    response = client.post("/api/v1/venues", json=venue_data(**change), headers=organizer.headers)
    assert fields_of(response) == fields


def test_missing_fields_are_named(client, make_user):
    organizer = make_user(Role.ORGANIZER)
    response = client.post("/api/v1/venues", json={"name": "Hall"}, headers=organizer.headers)
    assert fields_of(response) == {"address", "city", "country", "capacity"}


def test_seat_map_capacity_is_checked_against_the_stored_venue(client, make_user, make_venue):
    owner = make_user(Role.ORGANIZER)
    venue = make_venue(owner, seat_map=None, capacity=5)
    response = client.patch(f"/api/v1/venues/{venue['id']}", json={"seat_map": SEAT_MAP}, headers=owner.headers)
    assert fields_of(response) == {"capacity"}


def test_staff_must_be_an_existing_staff_user(client, make_user, make_venue):
    owner, customer = make_user(Role.ORGANIZER), make_user(Role.CUSTOMER)
    venue = make_venue(owner)
    for uid in (customer.uid, "no-such-user"):
        response = client.post(f"/api/v1/venues/{venue['id']}/staff", json={"uid": uid}, headers=owner.headers)
        assert fields_of(response) == {"uid"}


def test_staff_list_is_shown_to_managers_only(client, make_user, make_venue):
    owner, staff = make_user(Role.ORGANIZER), make_user(Role.STAFF)
    venue = make_venue(owner)
    response = client.post(f"/api/v1/venues/{venue['id']}/staff", json={"uid": staff.uid}, headers=owner.headers)
    assert response.json == {"venue_id": venue["id"], "staff": [staff.uid]}
    assert client.get(f"/api/v1/venues/{venue['id']}", headers=owner.headers).json["staff"] == [staff.uid]
    assert "staff" not in client.get(f"/api/v1/venues/{venue['id']}", headers=staff.headers).json
    assert "staff" not in client.get(f"/api/v1/venues/{venue['id']}").json


def test_soft_deleted_venue_disappears(client, make_user, make_venue):
    owner = make_user(Role.ORGANIZER)
    kept, gone = make_venue(owner, name="Kept"), make_venue(owner, name="Gone")
    assert client.delete(f"/api/v1/venues/{gone['id']}", headers=owner.headers).status_code == 204
    assert client.get(f"/api/v1/venues/{gone['id']}").status_code == 404
    assert [v["id"] for v in client.get("/api/v1/venues").json["items"]] == [kept["id"]]
    assert client.patch(f"/api/v1/venues/{gone['id']}", json={"name": "Back"},
                        headers=owner.headers).status_code == 404
    assert client.delete(f"/api/v1/venues/{gone['id']}", headers=owner.headers).status_code == 404


def test_venue_in_use_cannot_be_deleted_or_remapped(client, make_user, make_venue, make_event):
    owner = make_user(Role.ORGANIZER)
    venue = make_venue(owner)
    event = make_event(owner, venue=venue)
    response = client.delete(f"/api/v1/venues/{venue['id']}", headers=owner.headers)
    assert (response.status_code, response.json["error"]["code"]) == (409, "venue_in_use")
    response = client.patch(f"/api/v1/venues/{venue['id']}", json={"seat_map": None}, headers=owner.headers)
    assert (response.status_code, response.json["error"]["code"]) == (409, "venue_in_use")
    assert client.post(f"/api/v1/events/{event['id']}/cancel", headers=owner.headers).status_code == 200
    assert client.delete(f"/api/v1/venues/{venue['id']}", headers=owner.headers).status_code == 204


def test_renamed_or_moved_venue_updates_its_events(client, make_user, make_venue, make_event):
    owner = make_user(Role.ORGANIZER)
    venue = make_venue(owner, name="Old Barn", city="Hamburg")
    event = make_event(owner, venue=venue)
    response = client.patch(f"/api/v1/venues/{venue['id']}", json={"name": "Blue Note", "city": "München"},
                            headers=owner.headers)
    assert response.status_code == 200
    shown = client.get(f"/api/v1/events/{event['id']}").json
    assert (shown["venue_name"], shown["city"]) == ("Blue Note", "München")
    assert [e["id"] for e in client.get("/api/v1/events?city=munchen").json["items"]] == [event["id"]]
    assert client.get("/api/v1/events?city=hamburg").json["items"] == []
    assert [e["id"] for e in client.get("/api/v1/events?q=blue").json["items"]] == [event["id"]]


def test_list_venues_by_city(client, make_user, make_venue):
    owner = make_user(Role.ORGANIZER)
    cologne = make_venue(owner, name="Dome Hall", city="Köln")
    make_venue(owner, name="Elbe Hall", city="Hamburg")
    assert [v["id"] for v in client.get("/api/v1/venues?city=KOLN").json["items"]] == [cologne["id"]]


def test_malformed_ids_are_not_found(client, make_user):
    owner = make_user(Role.ORGANIZER)
    assert client.get("/api/v1/venues/__x__").status_code == 404
    assert client.patch("/api/v1/venues/..", json={"name": "x"}, headers=owner.headers).status_code == 404


def test_seat_ids_name_section_row_and_seat(app, make_user, make_venue):
    from app.venues import service as venues

    venue = make_venue(make_user(Role.ORGANIZER))
    assert venues.list_seats(venue, ["balcony"]) == ["balcony:A:1", "balcony:A:2"]
    assert len(venues.list_seats(venue, ["stalls", "balcony"])) == 7


def test_owner_of_venue_is_its_creator(client, make_user):
    owner = make_user(Role.ORGANIZER)
    response = client.post("/api/v1/venues", json=venue_data(), headers=owner.headers)
    assert response.status_code == 201
    assert response.json["owner_uid"] == owner.uid
    assert response.json["staff"] == []


def test_events_at_a_venue_are_created_by_its_owner_the_organizers_it_admits_and_admins(client, make_user,
                                                                                      make_venue):
    owner, stranger, admin = make_user(Role.ORGANIZER), make_user(Role.ORGANIZER), make_user(Role.ADMIN)
    venue = make_venue(owner)
    base = f"/api/v1/venues/{venue['id']}"

    def create_event(user):
        data = event_data(venue["id"])
        return client.post("/api/v1/events", headers=user.headers, json={
            **data, "starts_at": data["starts_at"].isoformat(), "ends_at": data["ends_at"].isoformat()})

    refused = create_event(stranger)
    assert (refused.status_code, refused.json["error"]["code"]) == (403, "forbidden")
    # Nothing of the stranger's holds the venue: its owner still changes the seat map.
    assert client.patch(base, json={"seat_map": SEAT_MAP}, headers=owner.headers).status_code == 200
    assert create_event(owner).status_code == 201
    assert create_event(admin).status_code == 201

    admitted = client.post(f"{base}/organizers", json={"uid": stranger.uid}, headers=owner.headers)
    assert admitted.status_code == 200 and admitted.json["organizers"] == [stranger.uid]
    assert client.get(base, headers=owner.headers).json["organizers"] == [stranger.uid]
    assert "organizers" not in client.get(base, headers=stranger.headers).json
    event = create_event(stranger)
    assert event.status_code == 201, event.json

    assert client.delete(f"{base}/organizers", json={"uid": stranger.uid}, headers=owner.headers).status_code == 204
    assert create_event(stranger).status_code == 403
    # Their event stays theirs.
    assert client.patch(f"/api/v1/events/{event.json['id']}", json={"title": "Still mine"},
                        headers=stranger.headers).status_code == 200


def test_only_organizers_are_admitted_and_only_by_the_owner_or_an_admin(client, make_user, make_venue):
    owner, other, staff = make_user(Role.ORGANIZER), make_user(Role.ORGANIZER), make_user(Role.STAFF)
    venue = make_venue(owner)
    base = f"/api/v1/venues/{venue['id']}/organizers"
    assert fields_of(client.post(base, json={"uid": staff.uid}, headers=owner.headers)) == {"uid"}
    assert fields_of(client.post(base, json={"uid": "no-such-user"}, headers=owner.headers)) == {"uid"}
    assert client.post(base, json={"uid": other.uid}, headers=other.headers).status_code == 403
    assert client.get(f"/api/v1/venues/{venue['id']}", headers=owner.headers).json["organizers"] == []
