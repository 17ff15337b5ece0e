"""A venue with a parking lot, an attendant and a published event, and the calls drivers and attendants make."""
import itertools
from datetime import datetime, timedelta

import pytest
import time_machine

from app.auth import Role
from app.parking import scans, sessions
from app.timeutil import utcnow
from app.venues import service as venues
from tests.factories import current, shop_for

_nonces = itertools.count(1)

PRICING = {"currency": "EUR", "hourly": {"standard": 300, "accessible": 200, "ev": 450}, "daily_cap": 2000,
           "occupancy_bands": [{"from_percent": 50, "multiplier_bp": 12500}], "event_window_minutes": 120,
           "event_multiplier_bp": 15000, "floor_bp": 10000, "ceiling_bp": 20000}


def lot_body(**overrides):
    return {"name": "North car park", "timezone": "Europe/Berlin", "geo": {"lat": 52.52, "lng": 13.40},
            "zones": [{"id": "P1", "name": "Deck 1", "kind": "standard", "count": 3}],
            "spaces": [{"id": "A1", "kind": "accessible"}], "pricing": PRICING, **overrides}


def slot_start(moment=None):
    moment = moment or utcnow()
    return moment.replace(minute=moment.minute - moment.minute % 15, second=0, microsecond=0)


def window(hours=2, *, start=None):
    start = start or slot_start()
    return start, start + timedelta(hours=hours)


class Garage:
    def __init__(self, app, client, shop, staff, lot):
        self.app, self.client, self.shop, self.staff, self.lot = app, client, shop, staff, lot

    @property
    def owner(self):
        return self.shop.owner

    @property
    def event(self):
        return self.shop.sale.event

    @property
    def path(self):
        return f"/api/v1/parking-lots/{self.lot['id']}"

    def quote(self, *, kind="standard", start=None, end=None, hours=2, event_id=None, user=None):
        if start is None:
            start, end = window(hours)
        query = {"from": start.isoformat(), "to": end.isoformat(), "kind": kind,
                 "event_id": event_id if event_id is not None else self.event["id"]}
        return self.client.get(f"{self.path}/quote", query_string=query, headers=user.headers if user else {})

    def fresh_quote(self, **kwargs):
        response = self.quote(**kwargs)
        assert response.status_code == 200, response.json
        return response.json

    def hold(self, buyer, *quotes, plate=None, tickets=0):
        lines = [{"kind": "parking", "quote": q["quote"], **({"plate": plate} if plate else {})} for q in quotes]
        return self.shop.sale.hold(buyer, tickets, lines=lines)

    def book(self, buyer, quote=None, *, plate=None, **window_args):
        response = self.hold(buyer, quote or self.fresh_quote(**window_args), plate=plate)
        assert response.status_code == 201, response.json
        return response.json

    def paid(self, buyer, quote=None, *, plate=None, **window_args):
        """A booking held, ordered and paid at the box office: the paid order."""
        hold = self.book(buyer, quote, plate=plate, **window_args)
        order = self.shop.order(buyer, hold["id"])
        assert order.status_code == 201, order.json
        paid = self.shop.mark_paid(self.owner, order.json["id"])
        assert paid.status_code == 200, paid.json
        return paid.json

    def pass_of(self, order, user=None):
        [issued] = [i for i in order["issued"] if i["kind"] == "parking"]
        response = self.client.get(f"/api/v1/parking-passes/{issued['id']}", headers=(user or self.owner).headers)
        assert response.status_code == 200, response.json
        return response.json

    def scan(self, direction, *, code=None, plate=None, user=None, nonce=None):
        body = {"direction": direction, "nonce": nonce or f"scan-{next(_nonces):08d}",
                **({"code": code} if code else {}), **({"plate": plate} if plate else {})}
        response = self.client.post(f"{self.path}/scans", json=body, headers=(user or self.staff).headers)
        assert response.status_code == 200, response.json
        return response.json

    def scan_at(self, moment, direction, *, code=None, plate=None):
        """A scan at ``moment``, through the service: an hour or more ahead, the test's ID tokens have expired."""
        moment = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
        with time_machine.travel(moment, tick=False), self.app.app_context():
            return scans.scan(self.lot["id"], current(self.staff), direction=direction,
                              nonce=f"scan-{next(_nonces):08d}", code=code,
                              plate=plate and sessions.normalize_plate(plate))

    def availability(self, **query):
        response = self.client.get(f"{self.path}/availability", query_string=query)
        assert response.status_code == 200, response.json
        return {k["kind"]: k["available"] for k in response.json["kinds"]}


@pytest.fixture
def make_garage(app, client, make_user, make_venue, make_event):
    """A published event at a venue whose owner made a lot (``lot_body`` with overrides) and assigned staff."""
    def build(*, event=None, venue=None, **lot):
        owner, staff = make_user(Role.ORGANIZER), make_user(Role.STAFF)
        venue = make_venue(owner, **(venue or {}))
        with app.app_context():
            venues.add_venue_staff(venue["id"], current(owner), staff.uid)
        made = make_event(owner, venue=venue, **(event or morning_event()))
        response = client.post(f"/api/v1/venues/{venue['id']}/parking-lots", json=lot_body(**lot),
                               headers=owner.headers)
        assert response.status_code == 201, response.json
        return Garage(app, client, shop_for(client, owner, made), staff, response.json)

    return build


def morning_event():
    """A garage's event unless a test names one: 08:00 to 11:00 UTC, 30 days ahead, so that its demand window
    (event_window_minutes on either side) never reaches an evening() booking, whatever time the tests run."""
    starts = evening(hour=8)
    return {"starts_at": starts, "ends_at": starts + timedelta(hours=3)}


def evening(days=30, hour=18):
    """A slot-aligned moment ``days`` ahead, at ``hour`` UTC."""
    return (utcnow() + timedelta(days=days)).replace(hour=hour, minute=0, second=0, microsecond=0)


def error(response):
    return response.status_code, response.json["error"]["code"]
