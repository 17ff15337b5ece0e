"""The authorization matrix of ARCHITECTURE section 5, over every route the app serves.

The routes come from ``app.url_map``; each one (rule and method) needs a row
in ``TABLE`` below, and a route without one fails ``test_every_route_has_a_row``
by name, so a new endpoint cannot go unchecked. A row is one or more cases;
each case prepares a request per caller (fresh targets for requests that
change or remove them) and lists the status every caller must get:

    anonymous  customer  buyer (owns the holds, orders and tickets)  other_organizer
    other_staff (staff of another venue)  venue_staff (staff of this event's venue)  owner  admin

Other people's private things answer 404, not 403, so their ids cannot be probed.
"""
import itertools
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

from app.auth import Role
from app.events import service as events
from app.timeutil import utcnow
from app.venues import service as venues
from tests.factories import current, event_data, ticket_type_data, venue_data

ROLES = ("anonymous", "customer", "buyer", "other_organizer", "other_staff", "venue_staff", "owner", "admin")
IGNORED_METHODS = {"HEAD", "OPTIONS"}
_emails = itertools.count(1)


def row(*statuses):
    assert len(statuses) == len(ROLES)
    return dict(zip(ROLES, statuses))


def everyone(status):
    return row(*[status] * len(ROLES))


def signed_in(status):
    return row(401, *[status] * (len(ROLES) - 1))


PUBLIC = everyone(200)
AUTHENTICATED = signed_in(200)
ADMIN_ONLY = row(401, 403, 403, 403, 403, 403, 403, 200)
MANAGER_CREATE = row(401, 403, 403, 201, 403, 403, 201, 201)
OWNER_ONLY = row(401, 403, 403, 403, 403, 403, 200, 200)
OWNER_ONLY_201 = row(401, 403, 403, 403, 403, 403, 201, 201)
OWNER_ONLY_204 = row(401, 403, 403, 403, 403, 403, 204, 204)
DRAFT_VIEW = row(404, 404, 404, 404, 404, 404, 200, 200)
DRAFT_CHANGE = row(401, 403, 403, 404, 403, 403, 200, 200)
DRAFT_CHANGE_204 = row(401, 403, 403, 404, 403, 403, 204, 204)
# Holds, orders and tickets: their buyer, the event's organizer and admins; nobody else learns they exist.
PURCHASE_VIEW = row(401, 404, 200, 404, 404, 404, 200, 200)
GATE = row(401, 403, 403, 403, 403, 200, 200, 200)
# A parking session's attendants; to everyone else it does not exist.
ATTENDANTS = row(401, 404, 404, 404, 404, 200, 200, 200)
# Payouts: the party itself (the venue's owner, the event's organizer) and admins; any organizer for its own.
PARTY_ONLY = row(401, 403, 403, 404, 403, 403, 200, 200)
PARTY_ONLY_409 = row(401, 403, 403, 404, 403, 403, 409, 409)
ORGANIZERS = row(401, 403, 403, 200, 403, 403, 200, 200)


@dataclass
class Case:
    prepare: object  # (world, role) -> (path, json body or None[, headers])
    expected: dict


def at(path, body=None):
    return lambda w, role: (path(w), body(w) if callable(body) else body)


# --- fresh targets, made per caller -------------------------------------------------------------------------------

def own_device(w, role):
    user = w.users[role]
    if user is None:
        return "/api/v1/users/me/devices/0123456789abcdef", None
    response = w.client.post("/api/v1/users/me/devices", headers=user.headers,
                           json={"token": f"fcm-token-{next(_emails)}", "platform": "android"})
    assert response.status_code == 201, response.json
    return f"/api/v1/users/me/devices/{response.json['id']}", None


def erase_fresh_user(w, role):
    if role == "anonymous":
        return "/api/v1/users/me", None
    return "/api/v1/users/me", None, w.fresh_user(role).headers


def register(w, role):
    return "/api/v1/auth/register", {"email": f"register{next(_emails)}@example.test", "password": "pass-word-123"}


def own_hold_to_order(w, role):
    user = w.users[role] or w.users["buyer"]
    return "/api/v1/orders", {"hold_id": w.place_hold(user)["id"], "payment_method": "manual"}


def fresh_venue(w, role):
    return f"/api/v1/venues/{w.make_venue(w.owner)['id']}", None


def fresh_draft(w, suffix=""):
    return lambda w_, role: (f"/api/v1/events/{w.make_event(w.owner, venue=w.venue, published=False)['id']}{suffix}",
                             None)


def json_event(w):
    data = event_data(w.venue["id"])
    return {**data, "starts_at": data["starts_at"].isoformat(), "ends_at": data["ends_at"].isoformat()}


def change_fresh_password(w, role):
    if role == "anonymous":
        return "/api/v1/users/me/password", {"current_password": "x", "new_password": "new-pass-123"}
    # A fresh account per caller: Firebase ends an account's other sessions when its password changes.
    user = w.fresh_user(role)
    return ("/api/v1/users/me/password", {"current_password": user.password, "new_password": "new-pass-123"},
            user.headers)


def disable_fresh_user(w, role):
    return f"/api/v1/admin/users/{w.fresh_user('customer').uid}/disable", None


def json_event_at_admitting_venue(w, role):
    """An event at a venue of the owner's that admits the other organizer."""
    venue = w.make_venue(w.owner)
    with w.app.app_context():
        venues.admit_organizer(venue["id"], current(w.owner), w.users["other_organizer"].uid)
    data = event_data(venue["id"])
    return "/api/v1/events", {**data, "starts_at": data["starts_at"].isoformat(), "ends_at": data["ends_at"].isoformat()}


def ticket_type_body(w):
    return ticket_type_data()


def venue_body(w):
    return venue_data()


def lot_body(w):
    return {"name": "Side car park", "timezone": "Europe/Berlin",
            "zones": [{"id": "S", "kind": "standard", "count": 5}],
            "pricing": {"currency": "EUR", "hourly": {"standard": 200}}}


def fresh_lot(w, role):
    lot = w.call("POST", f"/venues/{w.venue['id']}/parking-lots", w.owner, lot_body(w), status=201)
    return f"/api/v1/parking-lots/{lot['id']}", None


def quote_query(w):
    start = utcnow().replace(second=0, microsecond=0) + timedelta(days=2)
    return urlencode({"from": start.isoformat(), "to": (start + timedelta(hours=1)).isoformat(),
                      "event_id": w.event["id"]})


def fresh_rule(w):
    kind = f"kind{next(_emails)}"
    w.call("POST", "/payouts/split-rules", w.users["admin"], {
        "kind": kind, "shares": [{"party": "organizer", "basis_points": 10000}]}, status=201)
    return f"platform:{kind}"


TABLE = {
    # health, docs and the framework's own routes
    "GET /api/v1/health": [Case(at(lambda w: "/api/v1/health"), PUBLIC)],
    "GET /api/v1/health/ready": [Case(at(lambda w: "/api/v1/health/ready"), PUBLIC)],
    "GET /api/v1/metrics": [Case(at(lambda w: "/api/v1/metrics"), PUBLIC)],
    "GET /api/v1/openapi.json": [Case(at(lambda w: "/api/v1/openapi.json"), PUBLIC)],
    "GET /api/v1/docs": [Case(at(lambda w: "/api/v1/docs"), PUBLIC)],
    "GET /api/v1/docs/assets/<path:filename>": [Case(at(lambda w: "/api/v1/docs/assets/swagger-ui.css"), PUBLIC),
                                                Case(at(lambda w: "/api/v1/docs/assets/../docs.py"), everyone(404))],
    "GET /api/v1/docs/swagger-initializer.js": [Case(at(lambda w: "/api/v1/docs/swagger-initializer.js"), PUBLIC)],
    "GET /static/<path:filename>": [Case(at(lambda w: "/static/app.py"), everyone(404))],
    # accounts
    "POST /api/v1/auth/register": [Case(register, everyone(201))],
    "POST /api/v1/auth/login": [Case(at(lambda w: "/api/v1/auth/login", lambda w: {
        "email": w.users["customer"].email, "password": w.users["customer"].password}), PUBLIC)],
    "POST /api/v1/auth/refresh": [Case(at(lambda w: "/api/v1/auth/refresh", lambda w: {
        "refresh_token": w.users["customer"].refresh_token}), PUBLIC)],
    "POST /api/v1/auth/password-reset": [Case(at(lambda w: "/api/v1/auth/password-reset", lambda w: {
        "email": w.users["customer"].email}), everyone(204))],
    "GET /api/v1/auth/me": [Case(at(lambda w: "/api/v1/auth/me"), AUTHENTICATED)],
    "PATCH /api/v1/users/me": [Case(at(lambda w: "/api/v1/users/me", {"display_name": "Renamed"}), AUTHENTICATED)],
    "DELETE /api/v1/users/me": [Case(erase_fresh_user, signed_in(204))],
    "POST /api/v1/users/me/devices": [Case(lambda w, role: ("/api/v1/users/me/devices", {
        "token": f"fcm-token-{next(_emails)}", "platform": "ios"}), signed_in(201))],
    "DELETE /api/v1/users/me/devices/<device_id>": [Case(own_device, signed_in(204))],
    "GET /api/v1/users/me/phone": [Case(at(lambda w: "/api/v1/users/me/phone"), AUTHENTICATED)],
    "POST /api/v1/users/me/phone": [Case(lambda w, role: ("/api/v1/users/me/phone", {
        "phone": f"+49151{next(_emails):08d}"}), signed_in(202))],
    # A verification nobody asked for: signed-in callers get past the gate to the code check.
    "POST /api/v1/users/me/phone/verify": [Case(at(lambda w: "/api/v1/users/me/phone/verify", {
        "verification_id": "no-such-verification", "code": "123456"}), signed_in(422))],
    "DELETE /api/v1/users/me/phone": [Case(at(lambda w: "/api/v1/users/me/phone"), signed_in(204))],
    "GET /api/v1/users/me/notification-preferences": [Case(at(lambda w: "/api/v1/users/me/notification-preferences"),
                                                           AUTHENTICATED)],
    "PATCH /api/v1/users/me/notification-preferences": [Case(at(
        lambda w: "/api/v1/users/me/notification-preferences", {"channels": {"reminder": {"email": False}}}),
        AUTHENTICATED)],
    # A role change revokes the user's session: a fresh customer each time, so the world's customer keeps theirs.
    "PUT /api/v1/admin/users/<uid>/role": [Case(lambda w, role: (
        f"/api/v1/admin/users/{w.fresh_user('customer').uid}/role", {"role": "customer"}), ADMIN_ONLY)],
    "GET /api/v1/users/me/account": [Case(at(lambda w: "/api/v1/users/me/account"), AUTHENTICATED)],
    "POST /api/v1/users/me/password": [Case(change_fresh_password, signed_in(200))],
    "GET /api/v1/users/me/export": [Case(at(lambda w: "/api/v1/users/me/export"), AUTHENTICATED)],
    "GET /api/v1/admin/users": [Case(at(lambda w: f"/api/v1/admin/users?email={w.users['customer'].email}"),
                                     ADMIN_ONLY)],
    "GET /api/v1/admin/users/<uid>": [Case(at(lambda w: f"/api/v1/admin/users/{w.users['customer'].uid}"),
                                           ADMIN_ONLY)],
    "POST /api/v1/admin/users/<uid>/disable": [Case(disable_fresh_user, ADMIN_ONLY)],
    # Enabling an enabled account changes nothing; the world's customer stays signed in.
    "POST /api/v1/admin/users/<uid>/enable": [Case(at(lambda w: f"/api/v1/admin/users/{w.users['customer'].uid}"
                                                                "/enable"), ADMIN_ONLY)],
    # venues
    "GET /api/v1/venues": [Case(at(lambda w: "/api/v1/venues"), PUBLIC)],
    "POST /api/v1/venues": [Case(at(lambda w: "/api/v1/venues", venue_body), MANAGER_CREATE)],
    "GET /api/v1/venues/<venue_id>": [Case(at(lambda w: f"/api/v1/venues/{w.venue['id']}"), PUBLIC)],
    "PATCH /api/v1/venues/<venue_id>": [Case(at(lambda w: f"/api/v1/venues/{w.venue['id']}",
                                                {"address": "2 Side Street"}), OWNER_ONLY)],
    "DELETE /api/v1/venues/<venue_id>": [
        Case(fresh_venue, OWNER_ONLY_204),
        Case(at(lambda w: f"/api/v1/venues/{w.venue['id']}"), row(401, 403, 403, 403, 403, 403, 409, 409)),
    ],
    "POST /api/v1/venues/<venue_id>/staff": [Case(at(lambda w: f"/api/v1/venues/{w.venue['id']}/staff",
                                                     lambda w: {"uid": w.users["venue_staff"].uid}), OWNER_ONLY)],
    "DELETE /api/v1/venues/<venue_id>/staff": [Case(at(lambda w: f"/api/v1/venues/{w.venue['id']}/staff",
                                                       lambda w: {"uid": w.users["other_staff"].uid}),
                                                    OWNER_ONLY_204)],
    "POST /api/v1/venues/<venue_id>/organizers": [Case(at(
        lambda w: f"/api/v1/venues/{w.venue['id']}/organizers", lambda w: {"uid": w.users["other_organizer"].uid}),
        OWNER_ONLY)],
    "DELETE /api/v1/venues/<venue_id>/organizers": [Case(at(
        lambda w: f"/api/v1/venues/{w.venue['id']}/organizers", lambda w: {"uid": w.users["other_organizer"].uid}),
        OWNER_ONLY_204)],
    # events
    "GET /api/v1/events": [
        Case(at(lambda w: "/api/v1/events"), PUBLIC),
        Case(at(lambda w: f"/api/v1/events?status=draft&organizer={w.owner.uid}"),
             row(403, 403, 403, 403, 403, 403, 200, 200)),
    ],
    # A venue's events are its owner's, its admitted organizers' and admins'.
    "POST /api/v1/events": [Case(at(lambda w: "/api/v1/events", json_event), OWNER_ONLY_201),
                            Case(json_event_at_admitting_venue, MANAGER_CREATE)],
    "GET /api/v1/events/<event_id>": [
        Case(at(lambda w: f"/api/v1/events/{w.event['id']}"), PUBLIC),
        Case(at(lambda w: f"/api/v1/events/{w.draft['id']}"), DRAFT_VIEW),
    ],
    "PATCH /api/v1/events/<event_id>": [
        Case(at(lambda w: f"/api/v1/events/{w.event['id']}", {"title": "Late Jazz"}), OWNER_ONLY),
        Case(at(lambda w: f"/api/v1/events/{w.draft['id']}", {"title": "Late Jazz"}), DRAFT_CHANGE),
    ],
    "DELETE /api/v1/events/<event_id>": [Case(lambda w, role: fresh_draft(w)(w, role), DRAFT_CHANGE_204)],
    "POST /api/v1/events/<event_id>/publish": [Case(lambda w, role: fresh_draft(w, "/publish")(w, role),
                                                    DRAFT_CHANGE)],
    "POST /api/v1/events/<event_id>/cancel": [Case(lambda w, role: (
        f"/api/v1/events/{w.make_event(w.owner, venue=w.venue)['id']}/cancel", None), OWNER_ONLY)],
    # ticket types
    "GET /api/v1/events/<event_id>/ticket-types": [
        Case(at(lambda w: f"/api/v1/events/{w.event['id']}/ticket-types"), PUBLIC),
        Case(at(lambda w: f"/api/v1/events/{w.draft['id']}/ticket-types"), DRAFT_VIEW),
    ],
    "POST /api/v1/events/<event_id>/ticket-types": [Case(at(lambda w: f"/api/v1/events/{w.event['id']}/ticket-types",
                                                            ticket_type_body), OWNER_ONLY_201)],
    "PATCH /api/v1/events/<event_id>/ticket-types/<ticket_type_id>": [Case(at(
        lambda w: f"/api/v1/events/{w.event['id']}/ticket-types/{w.ticket_type['id']}", {"price": 3000}),
        OWNER_ONLY)],
    "GET /api/v1/events/<event_id>/ticket-types/<ticket_type_id>": [Case(at(
        lambda w: f"/api/v1/events/{w.event['id']}/ticket-types/{w.ticket_type['id']}"), PUBLIC)],
    "DELETE /api/v1/events/<event_id>/ticket-types/<ticket_type_id>": [Case(lambda w, role: (
        f"/api/v1/events/{w.event['id']}/ticket-types/{w.make_ticket_type(w.owner, w.event)['id']}", None),
        OWNER_ONLY_204)],
    # holds and availability
    "GET /api/v1/events/<event_id>/availability": [
        Case(at(lambda w: f"/api/v1/events/{w.event['id']}/availability"), PUBLIC),
        Case(at(lambda w: f"/api/v1/events/{w.draft['id']}/availability"), DRAFT_VIEW),
    ],
    "POST /api/v1/events/<event_id>/holds": [Case(at(lambda w: f"/api/v1/events/{w.event['id']}/holds", lambda w: {
        "items": [{"ticket_type_id": w.ticket_type["id"], "quantity": 1}]}), signed_in(201))],
    "GET /api/v1/checkout/kinds": [Case(at(lambda w: "/api/v1/checkout/kinds"), PUBLIC)],
    "GET /api/v1/holds/<hold_id>": [Case(at(lambda w: f"/api/v1/holds/{w.hold['id']}"), PURCHASE_VIEW)],
    "DELETE /api/v1/holds/<hold_id>": [Case(lambda w, role: (f"/api/v1/holds/{w.place_hold()['id']}", None),
                                            PURCHASE_VIEW)],
    # orders, discounts and stats
    "POST /api/v1/orders": [Case(own_hold_to_order, signed_in(201))],
    "GET /api/v1/orders": [
        Case(at(lambda w: "/api/v1/orders"), AUTHENTICATED),
        Case(at(lambda w: f"/api/v1/orders?event_id={w.event['id']}"), row(401, 403, 403, 403, 403, 403, 200, 200)),
        Case(at(lambda w: "/api/v1/orders?scope=managed"), row(401, 403, 403, 200, 403, 403, 200, 200)),
    ],
    "GET /api/v1/orders/<order_id>": [Case(at(lambda w: f"/api/v1/orders/{w.order()['id']}"), PURCHASE_VIEW)],
    "POST /api/v1/orders/<order_id>/cancel": [Case(lambda w, role: (
        f"/api/v1/orders/{w.fresh_order()['id']}/cancel", None), PURCHASE_VIEW)],
    "POST /api/v1/orders/<order_id>/mark-paid": [Case(lambda w, role: (
        f"/api/v1/orders/{w.fresh_order()['id']}/mark-paid", None), row(401, 403, 403, 404, 403, 403, 200, 200))],
    "POST /api/v1/orders/<order_id>/refunds": [Case(lambda w, role: (
        f"/api/v1/orders/{w.paid_order()['id']}/refunds", {"whole_order": True}),
        row(401, 403, 403, 404, 403, 403, 201, 201))],
    # Only its buyer pays for an order; those who manage it see it, and are told so.
    "POST /api/v1/orders/<order_id>/payment": [Case(lambda w, role: (
        f"/api/v1/orders/{w.fresh_order()['id']}/payment", None), row(401, 404, 200, 404, 404, 404, 403, 403))],
    "GET /api/v1/events/<event_id>/discounts": [Case(at(lambda w: f"/api/v1/events/{w.event['id']}/discounts"),
                                                     OWNER_ONLY)],
    "POST /api/v1/events/<event_id>/discounts": [Case(lambda w, role: (
        f"/api/v1/events/{w.event['id']}/discounts",
        {"code": f"SAVE{next(_emails):06d}", "kind": "percent", "percent_off": 10}), OWNER_ONLY_201)],
    "PATCH /api/v1/events/<event_id>/discounts/<code>": [Case(lambda w, role: (
        f"/api/v1/events/{w.event['id']}/discounts/{w.discount()['code']}", {"percent_off": 20}), OWNER_ONLY)],
    "DELETE /api/v1/events/<event_id>/discounts/<code>": [Case(lambda w, role: (
        f"/api/v1/events/{w.event['id']}/discounts/{w.fresh_discount()['code']}", None), OWNER_ONLY_204)],
    "GET /api/v1/events/<event_id>/stats": [Case(at(lambda w: f"/api/v1/events/{w.event['id']}/stats"), OWNER_ONLY)],
    # reports: an organizer's own dashboard; an event's exports for those who manage it
    "GET /api/v1/dashboard": [Case(at(lambda w: "/api/v1/dashboard"), row(401, 403, 403, 200, 403, 403, 200, 200))],
    "GET /api/v1/events/<event_id>/exports/orders.csv": [Case(at(
        lambda w: f"/api/v1/events/{w.event['id']}/exports/orders.csv"), OWNER_ONLY)],
    "GET /api/v1/events/<event_id>/exports/attendees.csv": [Case(at(
        lambda w: f"/api/v1/events/{w.event['id']}/exports/attendees.csv"), OWNER_ONLY)],
    "GET /api/v1/events/<event_id>/exports/checkins.csv": [Case(at(
        lambda w: f"/api/v1/events/{w.event['id']}/exports/checkins.csv"), OWNER_ONLY)],
    # payments
    "GET /api/v1/payments/methods": [Case(at(lambda w: "/api/v1/payments/methods"), PUBLIC)],
    # Signed by Stripe, not by a user; no Stripe is configured in tests, so nobody gets past it.
    "POST /api/v1/payments/webhooks/stripe": [Case(at(lambda w: "/api/v1/payments/webhooks/stripe", {}),
                                                   everyone(404))],
    # Signed by Twilio; no Twilio is configured in tests, so nobody gets past it.
    "POST /api/v1/sms/webhooks/twilio/inbound": [Case(at(lambda w: "/api/v1/sms/webhooks/twilio/inbound", {}),
                                                      everyone(404))],
    "POST /api/v1/sms/webhooks/twilio/status/<message_id>": [Case(at(
        lambda w: "/api/v1/sms/webhooks/twilio/status/0123456789abcdef0123456789abcdef", {}), everyone(404))],
    # tickets
    "GET /api/v1/tickets": [
        Case(at(lambda w: "/api/v1/tickets"), AUTHENTICATED),
        Case(at(lambda w: f"/api/v1/tickets?event_id={w.event['id']}"), row(401, 403, 403, 403, 403, 403, 200, 200)),
        Case(at(lambda w: "/api/v1/tickets?scope=managed"), row(401, 403, 403, 200, 403, 403, 200, 200)),
    ],
    "GET /api/v1/tickets/<ticket_id>": [Case(at(lambda w: f"/api/v1/tickets/{w.ticket()['ticket_id']}"),
                                             PURCHASE_VIEW)],
    "GET /api/v1/tickets/<ticket_id>/qr.svg": [Case(at(lambda w: f"/api/v1/tickets/{w.ticket()['ticket_id']}/qr.svg"),
                                                    PURCHASE_VIEW)],
    # check-in: the event's venue staff, its organizer and admins
    "POST /api/v1/events/<event_id>/checkins": [Case(lambda w, role: (
        f"/api/v1/events/{w.event['id']}/checkins", {"code": w.ticket_code(), "nonce": f"nonce-{next(_emails):08d}"}),
        GATE)],
    "POST /api/v1/events/<event_id>/checkins/offline": [Case(lambda w, role: (
        f"/api/v1/events/{w.event['id']}/checkins/offline", {"scans": [{
            "code": w.ticket_code(), "nonce": f"nonce-{next(_emails):08d}", "scanned_at": utcnow().isoformat()}]}),
        GATE)],
    "GET /api/v1/events/<event_id>/checkins/stats": [Case(at(
        lambda w: f"/api/v1/events/{w.event['id']}/checkins/stats"), GATE)],
    "GET /api/v1/events/<event_id>/checkin-key": [Case(at(lambda w: f"/api/v1/events/{w.event['id']}/checkin-key"),
                                                       GATE)],
    "GET /api/v1/events/<event_id>/checkin-sync": [Case(at(lambda w: f"/api/v1/events/{w.event['id']}/checkin-sync"),
                                                        GATE)],
    # concessions: stands and menus are the venue owner's; a stand's queue is its own staff's
    "GET /api/v1/venues/<venue_id>/stands": [Case(at(lambda w: f"/api/v1/venues/{w.venue['id']}/stands"), PUBLIC)],
    "POST /api/v1/venues/<venue_id>/stands": [Case(at(lambda w: f"/api/v1/venues/{w.venue['id']}/stands", {
        "name": "Bar", "kind": "bar", "currency": "EUR"}), OWNER_ONLY_201)],
    "GET /api/v1/events/<event_id>/stands": [
        Case(at(lambda w: f"/api/v1/events/{w.event['id']}/stands"), PUBLIC),
        Case(at(lambda w: f"/api/v1/events/{w.draft['id']}/stands"), DRAFT_VIEW),
    ],
    "GET /api/v1/stands/<stand_id>": [Case(at(lambda w: f"/api/v1/stands/{w.stand()['id']}"), PUBLIC)],
    "PATCH /api/v1/stands/<stand_id>": [Case(at(lambda w: f"/api/v1/stands/{w.stand()['id']}",
                                                {"location": "Level 2"}), OWNER_ONLY)],
    "DELETE /api/v1/stands/<stand_id>": [Case(lambda w, role: (f"/api/v1/stands/{w.fresh_stand()['id']}", None),
                                              OWNER_ONLY_204)],
    "POST /api/v1/stands/<stand_id>/staff": [Case(at(lambda w: f"/api/v1/stands/{w.stand()['id']}/staff",
                                                     lambda w: {"uid": w.users["venue_staff"].uid}), OWNER_ONLY)],
    "DELETE /api/v1/stands/<stand_id>/staff": [Case(at(lambda w: f"/api/v1/stands/{w.stand()['id']}/staff",
                                                       lambda w: {"uid": w.users["other_staff"].uid}),
                                                    OWNER_ONLY_204)],
    "GET /api/v1/stands/<stand_id>/items": [Case(at(lambda w: f"/api/v1/stands/{w.stand()['id']}/items"), PUBLIC)],
    "POST /api/v1/stands/<stand_id>/items": [Case(at(lambda w: f"/api/v1/stands/{w.stand()['id']}/items", {
        "name": "Fries", "price": 350}), OWNER_ONLY_201)],
    "PATCH /api/v1/stands/<stand_id>/items/<item_id>": [Case(at(
        lambda w: f"/api/v1/stands/{w.stand()['id']}/items/{w.menu_item()['id']}", {"sold_out": False}), OWNER_ONLY)],
    "DELETE /api/v1/stands/<stand_id>/items/<item_id>": [Case(lambda w, role: (
        f"/api/v1/stands/{w.stand()['id']}/items/{w.fresh_menu_item()['id']}", None), OWNER_ONLY_204)],
    "GET /api/v1/stands/<stand_id>/menu": [Case(at(
        lambda w: f"/api/v1/stands/{w.stand()['id']}/menu?event_id={w.event['id']}"), PUBLIC)],
    "GET /api/v1/stands/<stand_id>/queue": [Case(at(
        lambda w: f"/api/v1/stands/{w.stand()['id']}/queue?event_id={w.event['id']}"), GATE)],
    "POST /api/v1/stands/<stand_id>/pickups": [Case(lambda w, role: (
        f"/api/v1/stands/{w.stand()['id']}/pickups", {"code": w.fresh_stand_order("ready")["pickup_code"]}), GATE)],
    "GET /api/v1/stands/<stand_id>/stats": [Case(at(
        lambda w: f"/api/v1/stands/{w.stand()['id']}/stats?event_id={w.event['id']}"), OWNER_ONLY)],
    # A stand order: its buyer's, its stand's staff's, the organizer's and admins'; only its buyer shows the QR.
    "GET /api/v1/stand-orders/<stand_order_id>": [Case(at(
        lambda w: f"/api/v1/stand-orders/{w.stand_order()['id']}"), row(401, 404, 200, 404, 404, 200, 200, 200))],
    "GET /api/v1/stand-orders/<stand_order_id>/qr.svg": [Case(at(
        lambda w: f"/api/v1/stand-orders/{w.stand_order()['id']}/qr.svg"),
        row(401, 404, 200, 404, 404, 403, 403, 403))],
    "POST /api/v1/stand-orders/<stand_order_id>/state": [Case(lambda w, role: (
        f"/api/v1/stand-orders/{w.fresh_stand_order()['id']}/state", {"state": "preparing"}),
        row(401, 403, 403, 404, 404, 200, 200, 200))],
    "GET /api/v1/orders/<order_id>/stand-orders": [Case(at(
        lambda w: f"/api/v1/orders/{w.stand_order()['order_id']}/stand-orders"), PURCHASE_VIEW)],
    # parking: lots are the venue owner's; sessions and scans its staff's (and owner's, admins'); passes the holder's
    "GET /api/v1/venues/<venue_id>/parking-lots": [Case(at(lambda w: f"/api/v1/venues/{w.venue['id']}/parking-lots"),
                                                        PUBLIC)],
    "POST /api/v1/venues/<venue_id>/parking-lots": [Case(at(lambda w: f"/api/v1/venues/{w.venue['id']}/parking-lots",
                                                            lot_body), OWNER_ONLY_201)],
    "GET /api/v1/parking-lots/<lot_id>": [Case(at(lambda w: f"/api/v1/parking-lots/{w.lot()['id']}"), PUBLIC)],
    "PATCH /api/v1/parking-lots/<lot_id>": [Case(at(lambda w: f"/api/v1/parking-lots/{w.lot()['id']}",
                                                    {"name": "Renamed car park"}), OWNER_ONLY)],
    "DELETE /api/v1/parking-lots/<lot_id>": [Case(fresh_lot, OWNER_ONLY_204)],
    "GET /api/v1/parking-lots/<lot_id>/quote": [Case(at(lambda w: f"/api/v1/parking-lots/{w.lot()['id']}/quote?"
                                                        + quote_query(w)), PUBLIC)],
    "GET /api/v1/parking-lots/<lot_id>/availability": [Case(at(
        lambda w: f"/api/v1/parking-lots/{w.lot()['id']}/availability"), PUBLIC)],
    "GET /api/v1/parking-lots/<lot_id>/stats": [Case(at(lambda w: f"/api/v1/parking-lots/{w.lot()['id']}/stats"),
                                                     OWNER_ONLY)],
    "POST /api/v1/parking-lots/<lot_id>/sessions": [Case(lambda w, role: (
        f"/api/v1/parking-lots/{w.lot()['id']}/sessions", {"plate": f"AZ{next(_emails)}", "event_id": w.event["id"]}),
        row(401, 403, 403, 403, 403, 201, 201, 201))],
    "GET /api/v1/parking-lots/<lot_id>/sessions": [Case(at(lambda w: f"/api/v1/parking-lots/{w.lot()['id']}/sessions"),
                                                        GATE)],
    "POST /api/v1/parking-lots/<lot_id>/scans": [Case(lambda w, role: (
        f"/api/v1/parking-lots/{w.lot()['id']}/scans", {"direction": "entry", "code": w.parking_pass()["code"],
                                                         "nonce": f"nonce-{next(_emails):08d}"}), GATE)],
    "GET /api/v1/parking-sessions/<session_id>": [Case(at(lambda w: f"/api/v1/parking-sessions/{w.session()['id']}"),
                                                       ATTENDANTS)],
    "POST /api/v1/parking-sessions/<session_id>/end": [Case(lambda w, role: (
        f"/api/v1/parking-sessions/{w.fresh_session()['id']}/end", None), ATTENDANTS)],
    "POST /api/v1/parking-sessions/<session_id>/settlement": [Case(lambda w, role: (
        f"/api/v1/parking-sessions/{w.fresh_session(ended=True)['id']}/settlement", {"payment_method": "manual"}),
        ATTENDANTS)],
    "GET /api/v1/parking-passes": [Case(at(lambda w: "/api/v1/parking-passes"), AUTHENTICATED)],
    "GET /api/v1/parking-passes/<pass_id>": [Case(at(lambda w: f"/api/v1/parking-passes/{w.parking_pass()['id']}"),
                                                  PURCHASE_VIEW)],
    "GET /api/v1/parking-passes/<pass_id>/qr.svg": [Case(at(
        lambda w: f"/api/v1/parking-passes/{w.parking_pass()['id']}/qr.svg"), PURCHASE_VIEW)],
    # audit and the notification outbox
    "GET /api/v1/admin/audit": [Case(at(lambda w: "/api/v1/admin/audit"), ADMIN_ONLY)],
    "GET /api/v1/admin/notifications": [Case(at(lambda w: "/api/v1/admin/notifications"), ADMIN_ONLY)],
    "GET /api/v1/admin/refunds": [Case(at(lambda w: "/api/v1/admin/refunds"), ADMIN_ONLY)],
    # No refund is parked in a fresh world either.
    "POST /api/v1/admin/refunds/<refund_id>/retry": [Case(at(
        lambda w: "/api/v1/admin/refunds/nosuchrefund/retry"), row(401, 403, 403, 403, 403, 403, 403, 404))],
    # No message is parked in a fresh world: the admin's 404 shows the role gate let them through.
    "POST /api/v1/admin/notifications/<message_id>/retry": [Case(at(
        lambda w: "/api/v1/admin/notifications/no-such-message/retry"), row(401, 403, 403, 403, 403, 403, 403, 404))],
    # payouts: a party (the venue's owner, the organizer) and admins; another organizer learns nothing of it.
    # No Stripe is configured here, so opening an account stops at 409 connect_not_configured.
    "PUT /api/v1/payouts/parties/<party_id>/account": [Case(at(
        lambda w: f"/api/v1/payouts/parties/venue:{w.venue['id']}/account", {}), PARTY_ONLY_409)],
    "GET /api/v1/payouts/parties/<party_id>/account": [Case(at(
        lambda w: f"/api/v1/payouts/parties/venue:{w.venue['id']}/account"), PARTY_ONLY)],
    "POST /api/v1/payouts/parties/<party_id>/onboarding-link": [Case(at(
        lambda w: f"/api/v1/payouts/parties/organizer:{w.owner.uid}/onboarding-link",
        {"refresh_url": "https://app.example/again", "return_url": "https://app.example/done"}), PARTY_ONLY_409)],
    "GET /api/v1/payouts/split-rules": [Case(at(lambda w: "/api/v1/payouts/split-rules"), ADMIN_ONLY)],
    "POST /api/v1/payouts/split-rules": [Case(at(lambda w: "/api/v1/payouts/split-rules", lambda w: {
        "kind": "parking", "venue_id": w.venue["id"], "shares": [{"party": "venue", "basis_points": 10000}]}),
        row(401, 403, 403, 403, 403, 403, 403, 201))],
    "DELETE /api/v1/payouts/split-rules/<rule_id>": [Case(lambda w, role: (
        f"/api/v1/payouts/split-rules/{fresh_rule(w)}", None), row(401, 403, 403, 403, 403, 403, 403, 204))],
    "GET /api/v1/events/<event_id>/split-rules": [Case(at(lambda w: f"/api/v1/events/{w.event['id']}/split-rules"),
                                                       PARTY_ONLY)],
    "GET /api/v1/payouts/orders/<order_id>/splits": [Case(at(
        lambda w: f"/api/v1/payouts/orders/{w.paid()['id']}/splits"), PARTY_ONLY)],
    "GET /api/v1/payouts/ledger": [
        Case(at(lambda w: "/api/v1/payouts/ledger"), ORGANIZERS),
        Case(at(lambda w: f"/api/v1/payouts/ledger?party_id=venue:{w.venue['id']}"), PARTY_ONLY),
    ],
    "GET /api/v1/payouts/reports": [
        Case(at(lambda w: "/api/v1/payouts/reports"), ORGANIZERS),
        Case(at(lambda w: f"/api/v1/payouts/reports?party_id=organizer:{w.owner.uid}"), PARTY_ONLY),
    ],
    "GET /api/v1/payouts/reports.csv": [
        Case(at(lambda w: "/api/v1/payouts/reports.csv"), ORGANIZERS),
        Case(at(lambda w: f"/api/v1/payouts/reports.csv?party_id=venue:{w.venue['id']}"), PARTY_ONLY),
    ],
    "GET /api/v1/admin/payouts/transfers": [Case(at(lambda w: "/api/v1/admin/payouts/transfers"), ADMIN_ONLY)],
    "POST /api/v1/admin/payouts/transfers/<transfer_id>/retry": [Case(at(
        lambda w: "/api/v1/admin/payouts/transfers/nosuchtransfer/retry"),
        row(401, 403, 403, 403, 403, 403, 403, 404))],
}


def served_routes(app):
    return {f"{method} {rule.rule}" for rule in app.url_map.iter_rules()
            for method in sorted(rule.methods - IGNORED_METHODS)}


def test_every_route_has_a_row(app):
    served = served_routes(app)
    missing = sorted(served - TABLE.keys())
    stale = sorted(TABLE.keys() - served)
    assert not missing, "routes without an authorization row in TABLE: " + ", ".join(missing)
    assert not stale, "rows in TABLE for routes the app no longer serves: " + ", ".join(stale)


def test_authorization_matrix(world):
    """Every row against one world; all wrong answers are reported together, route by route."""
    served = served_routes(world.app)
    wrong = []
    for route in sorted(TABLE.keys() & served):
        method = route.split(" ")[0]
        for number, case in enumerate(TABLE[route]):
            answered = {}
            for role in ROLES:
                path, body, *headers = case.prepare(world, role)
                response = world.client.open(path, method=method, json=body,
                                             headers=headers[0] if headers else world.headers(role))
                answered[role] = response.status_code
                if response.status_code >= 400:
                    assert response.json["error"]["code"], (route, role, response.data)
                # Files (the docs' assets) are streamed: an unread answer must still let go of its file.
                response.close()
            if answered != case.expected:
                diff = {role: f"{answered[role]} (want {case.expected[role]})" for role in ROLES
                        if answered[role] != case.expected[role]}
                wrong.append(f"{route} case {number}: {diff}")
    assert not wrong, "\n".join(wrong)


def test_staff_scope_is_the_venue(app, make_user, make_venue, make_event):
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
