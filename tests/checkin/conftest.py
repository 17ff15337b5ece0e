"""A door to work: an event starting within the hour, its venue's staff, and paid tickets with their codes."""
import itertools
from datetime import timedelta

import pytest

from app.auth import Role
from app.timeutil import utcnow
from tests.factories import Sale, Shop

_nonces = itertools.count(1)


def nonce():
    return f"scan-{next(_nonces):06d}"


class Door:
    def __init__(self, client, shop, staff):
        self.client, self.shop, self.owner, self.staff = client, shop, shop.owner, staff

    @property
    def id(self):
        return self.shop.id

    def tickets(self, buyer, quantity=1):
        """The codes of ``quantity`` new paid tickets, with their ticket ids: [(ticket_id, code)]."""
        order = self.shop.paid(buyer, quantity)
        return [(t["ticket_id"], self.client.get(f"/api/v1/tickets/{t['ticket_id']}", headers=buyer.headers).json[
            "code"]) for t in order["tickets"]], order

    def scan(self, code, *, user=None, gate="north", nonce_=None, client=None):
        body = {"code": code, "gate": gate, "nonce": nonce_ or nonce()}
        return (client or self.client).post(f"/api/v1/events/{self.id}/checkins", json=body,
                                            headers=(user or self.staff).headers)

    def upload(self, scans, *, user=None):
        return self.client.post(f"/api/v1/events/{self.id}/checkins/offline", json={"scans": scans},
                                headers=(user or self.staff).headers)

    def sync(self, since=None, *, limit=None, user=None):
        params = {k: v for k, v in {"since": since, "limit": limit}.items() if v is not None}
        return self.client.get(f"/api/v1/events/{self.id}/checkin-sync", query_string=params,
                               headers=(user or self.staff).headers)

    def stats(self, user=None):
        return self.client.get(f"/api/v1/events/{self.id}/checkins/stats", headers=(user or self.staff).headers)


@pytest.fixture
def make_door(client, make_user, make_venue, make_event):
    def build(*, capacity=5, starts_in=timedelta(hours=1), **ticket_type):
        owner, staff = make_user(Role.ORGANIZER), make_user(Role.STAFF)
        venue = make_venue(owner)
        added = client.post(f"/api/v1/venues/{venue['id']}/staff", json={"uid": staff.uid}, headers=owner.headers)
        assert added.status_code in (200, 201), added.json
        starts = utcnow().replace(microsecond=0) + starts_in
        event = make_event(owner, venue=venue, starts_at=starts, ends_at=starts + timedelta(hours=3),
                           ticket_type={"capacity": capacity, **ticket_type})
        general = client.get(f"/api/v1/events/{event['id']}/ticket-types", headers=owner.headers).json[0]
        return Door(client, Shop(Sale(client, owner, event, general, None)), staff)

    return build
