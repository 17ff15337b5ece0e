"""Rate limits that fit who calls: Stripe's signed webhooks are never limited, door scanners count per staff member.

The default limit counts requests per client address, which at an on-sale or at a stadium gate is the
wrong thing to count: Stripe delivers from a few addresses, and a venue's scanners sit behind one NAT.
Each test's requests come from their own loopback address (set in the WSGI environ, no traffic).
"""
import pytest

from app.auth import Role
from app.venues import service as venues
from tests.factories import current
from tests.payments.stripe_stub import SECRET_KEY, WEBHOOK_SECRET, StripeStub, webhook


def from_address(address):
    return {"REMOTE_ADDR": address}


@pytest.fixture
def stripe_stub():
    with StripeStub() as stub:
        yield stub


def test_signed_stripe_webhooks_are_never_limited_and_unsigned_ones_are(make_app, stripe_stub):
    client = make_app(RATELIMIT_ENABLED=True, RATELIMIT_DEFAULT="2 per minute", STRIPE_SECRET_KEY=SECRET_KEY,
                      STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET, STRIPE_API_BASE=stripe_stub.url).test_client()
    stripe = from_address("127.0.0.31")
    for _ in range(5):
        body, headers = webhook("payment_intent.succeeded", {"object": "payment_intent", "id": "pi_x",
                                                             "amount_received": 100, "currency": "eur",
                                                             "metadata": {"order_id": "no-such-order"}})
        response = client.post("/api/v1/payments/webhooks/stripe", data=body, headers=headers,
                               environ_overrides=stripe)
        assert response.status_code == 200, response.json
    forged = {"Stripe-Signature": "t=1,v1=forged", "Content-Type": "application/json"}
    statuses = [client.post("/api/v1/payments/webhooks/stripe", data="{}", headers=forged,
                            environ_overrides=stripe).status_code for _ in range(3)]
    assert statuses == [400, 400, 429]


def test_scanners_behind_one_address_are_limited_per_staff_member(app, make_app, make_user, make_venue, make_event):
    owner, north, south = make_user(Role.ORGANIZER), make_user(Role.STAFF), make_user(Role.STAFF)
    venue = make_venue(owner)
    with app.app_context():
        for staff in (north, south):
            venues.add_venue_staff(venue["id"], current(owner), staff.uid)
    event = make_event(owner, venue=venue)
    client = make_app(RATELIMIT_ENABLED=True, RATELIMIT_DEFAULT="2 per minute",
                      RATELIMIT_CHECKIN="3 per minute").test_client()
    gate = from_address("127.0.0.32")
    scans = iter(range(100))

    def scan(staff):
        return client.post(f"/api/v1/events/{event['id']}/checkins", headers=staff.headers, environ_overrides=gate,
                           json={"code": "not-a-ticket", "nonce": f"limit-scan-{next(scans):04d}"}).status_code

    assert [scan(north) for _ in range(3)] == [200, 200, 200]
    assert [scan(south) for _ in range(3)] == [200, 200, 200]
    assert scan(north) == 429
