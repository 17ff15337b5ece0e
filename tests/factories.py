"""Factories for every test: venues, events, ticket types, sales (holds) and shops (orders) made through the
services and the API, owned by test users. ``Shop`` is the one way tests take a hold to an order to a payment,
whatever the event they sell for (``shop_for``)."""
import threading
from datetime import timedelta

import pytest

from app.auth import CurrentUser, Role
from app.events import lifecycle
from app.events import service as events
from app.events import ticket_types
from app.timeutil import utcnow
from app.venues import service as venues

SEAT_MAP = {"sections": [
    {"id": "stalls", "name": "Stalls", "rows": [{"label": "A", "seats": ["1", "2", "3"]},
                                                {"label": "B", "seats": ["1", "2"]}]},
    {"id": "balcony", "name": "Balcony", "rows": [{"label": "A", "seats": ["1", "2"]}]},
]}


def current(user):
    return CurrentUser(uid=user.uid, email=user.email, role=user.role)


def venue_data(**overrides):
    return {"name": "Grand Hall", "address": "1 Main Street", "city": "Berlin", "country": "DE",
            "capacity": 500, "seat_map": SEAT_MAP, **overrides}


def event_data(venue_id, **overrides):
    starts = utcnow().replace(microsecond=0) + timedelta(days=30)
    return {"venue_id": venue_id, "title": "Jazz Night", "category": "music", "starts_at": starts,
            "ends_at": starts + timedelta(hours=3), "timezone": "Europe/Berlin",
            "description": "Smooth tunes", **overrides}


def ticket_type_data(**overrides):
    return {"name": "General admission", "price": 2500, "currency": "EUR", "kind": "general_admission",
            "capacity": 100, **overrides}


def iso(moment):
    return moment.isoformat()


@pytest.fixture
def make_venue(app):
    def build(owner, **overrides):
        with app.app_context():
            return venues.create_venue(current(owner), **venue_data(**overrides))

    return build


@pytest.fixture
def make_ticket_type(app):
    def build(owner, event, **overrides):
        with app.app_context():
            return ticket_types.create_ticket_type(event["id"], current(owner), **ticket_type_data(**overrides))

    return build


@pytest.fixture
def make_event(app, make_venue, make_ticket_type):
    """An event with one general-admission ticket type, published unless published=False."""
    def build(owner, *, venue=None, published=True, ticket_type=None, **overrides):
        venue = venue or make_venue(owner)
        with app.app_context():
            event = events.create_event(current(owner), **event_data(venue["id"], **overrides))
        make_ticket_type(owner, event, **(ticket_type or {}))
        if published:
            with app.app_context():
                event = lifecycle.publish_event(event["id"], current(owner))
        return event

    return build


class Sale:
    """A published event with a general-admission ticket type and, optionally, a seated one."""

    def __init__(self, client, owner, event, general, seated):
        self.client, self.owner, self.event, self.general, self.seated = client, owner, event, general, seated

    @property
    def id(self):
        return self.event["id"]

    def hold(self, user, quantity=1, *, seats=None, key=None, ticket_type=None, lines=()):
        """Hold ``quantity`` general-admission units (none when 0), or ``seats``, and any other ``lines``."""
        items = list(lines)
        if quantity and not seats:
            items.insert(0, {"ticket_type_id": (ticket_type or self.general)["id"], "quantity": quantity})
        body = {**({"seats": seats} if seats else {}), **({"items": items} if items else {})}
        headers = {**user.headers, **({"Idempotency-Key": key} if key else {})}
        return self.client.post(f"/api/v1/events/{self.id}/holds", json=body, headers=headers)

    def release(self, user, hold_id):
        return self.client.delete(f"/api/v1/holds/{hold_id}", headers=user.headers)

    def availability(self):
        response = self.client.get(f"/api/v1/events/{self.id}/availability")
        assert response.status_code == 200, response.json
        return {t["ticket_type_id"]: t for t in response.json["ticket_types"]}

    def remaining(self, ticket_type=None):
        return self.availability()[(ticket_type or self.general)["id"]]["remaining"]


@pytest.fixture
def make_sale(app, client, make_user, make_event, make_ticket_type):
    def build(capacity=3, *, seated=False, publish=True, **ticket_type):
        owner = make_user(Role.ORGANIZER)
        event = make_event(owner, published=False, ticket_type={"capacity": capacity, **ticket_type})
        general = client.get(f"/api/v1/events/{event['id']}/ticket-types", headers=owner.headers).json[0]
        seated_type = None
        if seated:
            seated_type = make_ticket_type(owner, event, name="Stalls", kind="seated", sections=["stalls"],
                                           capacity=None)
        if publish:
            with app.app_context():
                event = lifecycle.publish_event(event["id"], current(owner))
        return Sale(client, owner, event, general, seated_type)

    return build


def race(app, calls):
    """Run each call in its own thread with its own test client, all released at once; return the results."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index, call):
        client = app.test_client()
        barrier.wait()
        results[index] = call(client)

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


class Shop:
    """A sale plus the calls a buyer and its organizer make around orders."""

    def __init__(self, sale):
        self.sale, self.client, self.owner = sale, sale.client, sale.owner

    @property
    def id(self):
        return self.sale.id

    def hold(self, buyer, quantity=1, **kwargs):
        response = self.sale.hold(buyer, quantity, **kwargs)
        assert response.status_code == 201, response.json
        return response.json

    def order(self, buyer, hold_id, *, method="manual", code=None, key=None, tip=None):
        body = {"hold_id": hold_id, "payment_method": method, **({"discount_code": code} if code else {}),
                **({"tip": tip} if tip is not None else {})}
        headers = {**buyer.headers, **({"Idempotency-Key": key} if key else {})}
        return self.client.post("/api/v1/orders", json=body, headers=headers)

    def buy(self, buyer, quantity=1, **kwargs):
        """Hold and order in one go; the order's JSON."""
        response = self.order(buyer, self.hold(buyer, quantity)["id"], **kwargs)
        assert response.status_code == 201, response.json
        return response.json

    def get(self, user, order_id):
        return self.client.get(f"/api/v1/orders/{order_id}", headers=user.headers)

    def mark_paid(self, user, order_id):
        return self.client.post(f"/api/v1/orders/{order_id}/mark-paid", headers=user.headers)

    def cancel(self, user, order_id):
        return self.client.post(f"/api/v1/orders/{order_id}/cancel", headers=user.headers)

    def refund(self, user, order_id, ticket_ids=None, **body):
        """Refund the tickets, or with neither tickets nor line_ids in ``body``, the whole order."""
        if ticket_ids:
            body["ticket_ids"] = ticket_ids
        elif "line_ids" not in body:
            body["whole_order"] = True
        return self.client.post(f"/api/v1/orders/{order_id}/refunds", json=body, headers=user.headers)

    def paid(self, buyer, quantity=1, **kwargs):
        order = self.buy(buyer, quantity, **kwargs)
        response = self.mark_paid(self.owner, order["id"])
        assert response.status_code == 200, response.json
        return response.json

    def add_discount(self, **fields):
        response = self.client.post(f"/api/v1/events/{self.id}/discounts", json=fields, headers=self.owner.headers)
        assert response.status_code == 201, response.json
        return response.json

    def remaining(self):
        return self.sale.remaining()


@pytest.fixture
def make_shop(make_sale):
    def build(capacity=5, **kwargs):
        return Shop(make_sale(capacity, **kwargs))

    return build


def shop_for(client, owner, event):
    """A Shop selling the first ticket type of an event made elsewhere."""
    general = client.get(f"/api/v1/events/{event['id']}/ticket-types", headers=owner.headers).json[0]
    return Shop(Sale(client, owner, event, general, None))
