"""The authorization matrix of ARCHITECTURE section 5 for every catalog endpoint.

One parametrized case per endpoint asserts the whole row (anonymous, customer,
another organizer, venue staff, owner, admin) at once, so a failure shows every
role that answered wrongly. Endpoints that change or remove their target get a
fresh one for each role.
"""
from dataclasses import dataclass

import pytest

from app.auth import Role
from tests.factories import current, event_data, ticket_type_data, venue_data

ROLES = ("anonymous", "customer", "other_organizer", "staff", "owner", "admin")


def row(*statuses):
    return dict(zip(ROLES, statuses))


PUBLIC = row(200, 200, 200, 200, 200, 200)
CREATE = row(401, 403, 201, 403, 201, 201)
OWNER_ONLY = row(401, 403, 403, 403, 200, 200)
OWNER_ONLY_204 = row(401, 403, 403, 403, 204, 204)
DRAFT_VIEW = row(404, 404, 404, 404, 200, 200)
DRAFT_CHANGE = row(401, 403, 404, 403, 200, 200)
DRAFT_CHANGE_204 = row(401, 403, 404, 403, 204, 204)


@dataclass
class World:
    app: object
    users: dict
    venue: dict
    event: dict
    draft: dict
    ticket_type: dict
    make_venue: object
    make_event: object
    make_ticket_type: object

    @property
    def owner(self):
        return self.users["owner"]

    def json_event(self):
        data = event_data(self.venue["id"])
        return {**data, "starts_at": data["starts_at"].isoformat(), "ends_at": data["ends_at"].isoformat()}


@pytest.fixture
def world(app, make_user, make_venue, make_event, make_ticket_type):
    from app.venues import service as venues

    users = {"anonymous": None, "customer": make_user(Role.CUSTOMER),
             "other_organizer": make_user(Role.ORGANIZER), "staff": make_user(Role.STAFF),
             "owner": make_user(Role.ORGANIZER), "admin": make_user(Role.ADMIN)}
    venue = make_venue(users["owner"])
    with app.app_context():
        venues.add_venue_staff(venue["id"], current(users["owner"]), users["staff"].uid)
    event = make_event(users["owner"], venue=venue)
    draft = make_event(users["owner"], venue=venue, published=False)
    ticket_type = make_ticket_type(users["owner"], event, name="Early bird")
    return World(app, users, venue, event, draft, ticket_type, make_venue, make_event, make_ticket_type)


# name -> (method, prepare(world) -> (path, json body or None), expected statuses by role)
CASES = {
    "list venues": ("GET", lambda w: ("/venues", None), PUBLIC),
    "create venue": ("POST", lambda w: ("/venues", venue_data()), CREATE),
    "get venue": ("GET", lambda w: (f"/venues/{w.venue['id']}", None), PUBLIC),
    "update venue": ("PATCH", lambda w: (f"/venues/{w.venue['id']}", {"address": "2 Side Street"}), OWNER_ONLY),
    "delete venue": ("DELETE", lambda w: (f"/venues/{w.make_venue(w.owner)['id']}", None), OWNER_ONLY_204),
    "delete venue in use": ("DELETE", lambda w: (f"/venues/{w.venue['id']}", None), row(401, 403, 403, 403, 409, 409)),
    "add venue staff": ("POST", lambda w: (f"/venues/{w.venue['id']}/staff", {"uid": w.users["staff"].uid}),
                        OWNER_ONLY),
    "remove venue staff": ("DELETE", lambda w: (f"/venues/{w.venue['id']}/staff", {"uid": w.users["staff"].uid}),
                           OWNER_ONLY_204),
    "list events": ("GET", lambda w: ("/events", None), PUBLIC),
    "list own drafts": ("GET", lambda w: (f"/events?status=draft&organizer={w.owner.uid}", None),
                        row(403, 403, 403, 403, 200, 200)),
    "create event": ("POST", lambda w: ("/events", w.json_event()), CREATE),
    "get published event": ("GET", lambda w: (f"/events/{w.event['id']}", None), PUBLIC),
    "get draft event": ("GET", lambda w: (f"/events/{w.draft['id']}", None), DRAFT_VIEW),
    "update published event": ("PATCH", lambda w: (f"/events/{w.event['id']}", {"title": "Late Jazz"}), OWNER_ONLY),
    "update draft event": ("PATCH", lambda w: (f"/events/{w.draft['id']}", {"title": "Late Jazz"}), DRAFT_CHANGE),
    "delete draft event": ("DELETE", lambda w: (f"/events/{w.make_event(w.owner, venue=w.venue, published=False)['id']}",
                                                None), DRAFT_CHANGE_204),
    "publish event": ("POST", lambda w: (f"/events/{w.make_event(w.owner, venue=w.venue, published=False)['id']}"
                                         "/publish", None), DRAFT_CHANGE),
    "cancel event": ("POST", lambda w: (f"/events/{w.make_event(w.owner, venue=w.venue)['id']}/cancel", None),
                     OWNER_ONLY),
    "list ticket types": ("GET", lambda w: (f"/events/{w.event['id']}/ticket-types", None), PUBLIC),
    "list draft ticket types": ("GET", lambda w: (f"/events/{w.draft['id']}/ticket-types", None), DRAFT_VIEW),
    "create ticket type": ("POST", lambda w: (f"/events/{w.event['id']}/ticket-types", ticket_type_data()),
                           row(401, 403, 403, 403, 201, 201)),
    "update ticket type": ("PATCH", lambda w: (f"/events/{w.event['id']}/ticket-types/{w.ticket_type['id']}",
                                               {"price": 3000}), OWNER_ONLY),
    "delete ticket type": ("DELETE", lambda w: (
        f"/events/{w.event['id']}/ticket-types/{w.make_ticket_type(w.owner, w.event)['id']}", None), OWNER_ONLY_204),
}


@pytest.mark.parametrize("case", CASES)
def test_authorization_matrix(case, client, world):
    method, prepare, expected = CASES[case]
    answered = {}
    for role in ROLES:
        path, body = prepare(world)
        user = world.users[role]
        response = client.open(f"/api/v1{path}", method=method, json=body, headers=user.headers if user else {})
        answered[role] = response.status_code
    assert answered == expected


def test_staff_scope_is_the_venue(app, make_user, make_venue, make_event):
    from app.events import service as events
    from app.venues import service as venues

    owner, staff, elsewhere = make_user(Role.ORGANIZER), make_user(Role.STAFF), make_user(Role.STAFF)
    customer = make_user(Role.CUSTOMER)
    venue = make_venue(owner)
    event = make_event(owner, venue=venue)
    with app.app_context():
        venues.add_venue_staff(venue["id"], current(owner), staff.uid)
        assert venues.is_venue_staff(venue["id"], staff.uid)
        assert not venues.is_venue_staff(venue["id"], elsewhere.uid)
        assert events.can_work_event(current(staff), event)
        assert events.can_work_event(current(owner), event)
        assert not events.can_work_event(current(elsewhere), event)
        assert not events.can_work_event(current(customer), event)
        venues.remove_venue_staff(venue["id"], current(owner), staff.uid)
        assert not events.can_work_event(current(staff), event)
