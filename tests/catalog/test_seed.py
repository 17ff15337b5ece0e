from app.auth import Role
from app.seed import DEMO_EVENT_ID, DEMO_VENUE_ID, seed_demo
from tests.conftest import sign_in


def test_seed_lists_a_published_event_and_is_idempotent(app, client, stack):
    with app.app_context():
        uids = seed_demo()
        assert seed_demo() == uids
    [event] = client.get("/api/v1/events").json["items"]
    assert (event["id"], event["status"], event["venue_id"]) == (DEMO_EVENT_ID, "published", DEMO_VENUE_ID)
    assert event["organizer_uid"] == uids[Role.ORGANIZER]
    kinds = sorted(t["kind"] for t in client.get(f"/api/v1/events/{DEMO_EVENT_ID}/ticket-types").json)
    assert kinds == ["general_admission", "seated"]
    token = sign_in(stack, "organizer@boxoffice.test", "organizer-pass-123")["idToken"]
    venue = client.get(f"/api/v1/venues/{DEMO_VENUE_ID}", headers={"Authorization": f"Bearer {token}"}).json
    assert (venue["name"], venue["staff"]) == ("Boxoffice Hall", [uids[Role.STAFF]])
    # The demo customer's sales, one partly refunded, counted once however often the seed runs.
    [money] = client.get("/api/v1/dashboard", headers={"Authorization": f"Bearer {token}"}).json["totals"]
    assert (money["orders"], money["units"], money["refunds"], money["refunded_units"]) == (3, 6, 1, 1)
