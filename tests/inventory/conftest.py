import threading

import pytest

from app.auth import Role
from app.events import lifecycle
from tests.factories import current


class Sale:
    """A published event with a general-admission ticket type and, optionally, a seated one."""

    def __init__(self, client, owner, event, general, seated):
        self.client, self.owner, self.event, self.general, self.seated = client, owner, event, general, seated

    @property
    def id(self):
        return self.event["id"]

    def hold(self, user, quantity=1, *, seats=None, key=None, ticket_type=None):
        body = {"seats": seats} if seats else {
            "items": [{"ticket_type_id": (ticket_type or self.general)["id"], "quantity": quantity}]}
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
