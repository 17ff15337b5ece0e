from datetime import timedelta

import pytest
import time_machine

from app.auth import Role
from app.timeutil import utcnow
from tests.factories import current, event_data


def as_json(data):
    return {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in data.items()}


def error(response):
    return response.status_code, response.json["error"]["code"]


def fields_of(response):
    assert response.status_code == 422, response.json
    return set(response.json["error"]["details"]["fields"])


@pytest.fixture
def owner(make_user):
    return make_user(Role.ORGANIZER)


@pytest.fixture
def venue(make_venue, owner):
    return make_venue(owner)


@pytest.mark.parametrize("change, fields", [
    ({"title": ""}, {"title"}),
    ({"title": "x" * 201}, {"title"}),
    ({"category": "opera-ish"}, {"category"}),
    ({"timezone": "Mars/Olympus"}, {"timezone"}),
    ({"starts_at": "2031-05-01T20:00:00"}, {"starts_at"}),
    ({"reminder_offsets_minutes": [60, 60]}, {"reminder_offsets_minutes"}),
    ({"reminder_offsets_minutes": [0]}, {"reminder_offsets_minutes"}),
    ({"status": "published"}, {"status"}),
    ({"venue_id": "no-such-venue"}, {"venue_id"}),
])
def test_create_event_validation_names_the_field(client, owner, venue, change, fields):
    response = client.post("/api/v1/events", json={**as_json(event_data(venue["id"])), **change},
                           headers=owner.headers)
    assert fields_of(response) == fields


def test_event_times_are_checked(client, owner, venue):
    data = event_data(venue["id"])
    ends_first = {**data, "ends_at": data["starts_at"] - timedelta(minutes=1)}
    in_the_past = {**data, "starts_at": utcnow() - timedelta(hours=1)}
    for body, field in ((ends_first, "ends_at"), (in_the_past, "starts_at")):
        response = client.post("/api/v1/events", json=as_json(body), headers=owner.headers)
        assert fields_of(response) == {field}
    event = client.post("/api/v1/events", json=as_json(data), headers=owner.headers).json
    response = client.patch(f"/api/v1/events/{event['id']}", headers=owner.headers,
                            json={"ends_at": (data["starts_at"] - timedelta(hours=1)).isoformat()})
    assert fields_of(response) == {"ends_at"}


def test_new_event_is_a_draft_with_default_reminders(client, owner, venue):
    response = client.post("/api/v1/events", json=as_json(event_data(venue["id"])), headers=owner.headers)
    assert response.status_code == 201
    assert response.json["status"] == "draft"
    assert response.json["reminder_offsets_minutes"] == [1440, 120]
    assert response.json["organizer_uid"] == owner.uid
    assert (response.json["venue_name"], response.json["city"]) == ("Grand Hall", "Berlin")


def test_lifecycle_draft_published_cancelled(client, owner, make_event):
    draft = make_event(owner, published=False)
    base = f"/api/v1/events/{draft['id']}"
    assert error(client.post(f"{base}/cancel", headers=owner.headers)) == (409, "invalid_transition")
    response = client.post(f"{base}/publish", headers=owner.headers)
    assert (response.status_code, response.json["status"]) == (200, "published")
    assert response.json["published_at"]
    assert error(client.post(f"{base}/publish", headers=owner.headers)) == (409, "invalid_transition")
    assert error(client.delete(base, headers=owner.headers)) == (409, "invalid_transition")
    response = client.post(f"{base}/cancel", headers=owner.headers)
    assert (response.status_code, response.json["status"]) == (200, "cancelled")
    assert error(client.post(f"{base}/publish", headers=owner.headers)) == (409, "invalid_transition")
    assert error(client.post(f"{base}/cancel", headers=owner.headers)) == (409, "invalid_transition")
    assert error(client.patch(base, json={"title": "Back on"}, headers=owner.headers)) == (409, "event_closed")
    assert error(client.post(f"{base}/ticket-types", headers=owner.headers,
                             json={"name": "Late", "price": 1, "currency": "EUR", "kind": "general_admission",
                                   "capacity": 5})) == (409, "event_closed")
    assert client.get(base).json["status"] == "cancelled"
    assert client.delete(base, headers=owner.headers).status_code == 204


def test_publish_needs_a_ticket_type_and_a_future_start(app, client, owner, venue):
    from app.errors import AppError
    from app.events import lifecycle
    from app.events import service as events

    with app.app_context():
        event = events.create_event(current(owner), **event_data(venue["id"]))
    response = client.post(f"/api/v1/events/{event['id']}/publish", headers=owner.headers)
    assert error(response) == (409, "no_ticket_types")
    client.post(f"/api/v1/events/{event['id']}/ticket-types", headers=owner.headers,
                json={"name": "GA", "price": 1000, "currency": "EUR", "kind": "general_admission", "capacity": 9})
    # Through the service: the owner's ID token would have expired by then.
    with time_machine.travel(event["starts_at"] + timedelta(minutes=1)), app.app_context():
        with pytest.raises(AppError) as refused:
            lifecycle.publish_event(event["id"], current(owner))
    assert (refused.value.status, refused.value.code) == (409, "event_started")
    assert client.post(f"/api/v1/events/{event['id']}/publish", headers=owner.headers).status_code == 200


def test_ended_events_complete_once(app, client, owner, make_event):
    from app.events import lifecycle

    ended, upcoming = make_event(owner), make_event(owner, title="Later")
    later = upcoming["starts_at"] + timedelta(days=3)
    upcoming_moved = {"starts_at": later.isoformat(), "ends_at": (later + timedelta(hours=2)).isoformat()}
    assert client.patch(f"/api/v1/events/{upcoming['id']}", json=upcoming_moved,
                        headers=owner.headers).status_code == 200
    with time_machine.travel(ended["ends_at"] + timedelta(minutes=5)), app.app_context():
        assert lifecycle.complete_ended_events() == 1
        assert lifecycle.complete_ended_events() == 0
    assert client.get(f"/api/v1/events/{ended['id']}").json["status"] == "completed"
    assert client.get(f"/api/v1/events/{upcoming['id']}").json["status"] == "published"
    assert error(client.post(f"/api/v1/events/{ended['id']}/cancel", headers=owner.headers)) == \
        (409, "invalid_transition")
    assert [e["id"] for e in client.get("/api/v1/events").json["items"]] == [upcoming["id"]]


def test_soft_deleted_event_disappears(client, owner, make_event):
    draft = make_event(owner, published=False)
    assert client.delete(f"/api/v1/events/{draft['id']}", headers=owner.headers).status_code == 204
    assert client.get(f"/api/v1/events/{draft['id']}", headers=owner.headers).status_code == 404
    assert client.get(f"/api/v1/events/{draft['id']}/ticket-types", headers=owner.headers).status_code == 404
    listed = client.get(f"/api/v1/events?status=draft&organizer={owner.uid}", headers=owner.headers).json
    assert listed["items"] == []
    assert client.delete(f"/api/v1/events/{draft['id']}", headers=owner.headers).status_code == 404
    assert client.post(f"/api/v1/events/{draft['id']}/publish", headers=owner.headers).status_code == 404


def test_moving_the_start_before_sales_end_is_refused(client, owner, make_event, make_ticket_type):
    event = make_event(owner)
    sales_end = event["starts_at"] - timedelta(days=1)
    late = make_ticket_type(owner, event, name="Late sales", sales_ends_at=sales_end)
    earlier = {"starts_at": (sales_end - timedelta(hours=1)).isoformat()}
    response = client.patch(f"/api/v1/events/{event['id']}", json=earlier, headers=owner.headers)
    assert error(response) == (409, "sales_window_conflict")
    assert response.json["error"]["details"]["ticket_type_ids"] == [late["id"]]


def test_update_refreshes_search_terms(client, owner, make_event):
    event = make_event(owner)
    assert client.patch(f"/api/v1/events/{event['id']}", json={"title": "Opera Gala", "category": "theatre"},
                        headers=owner.headers).status_code == 200
    assert client.get("/api/v1/events?q=jazz").json["items"] == []
    assert [e["id"] for e in client.get("/api/v1/events?q=gala").json["items"]] == [event["id"]]
