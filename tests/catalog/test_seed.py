import pytest

from app.auth import Role
from app.firebase import UserNotFoundError, db, get_firebase
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
    [lot] = client.get(f"/api/v1/venues/{DEMO_VENUE_ID}/parking-lots").json["items"]
    assert (lot["name"], lot["space_kinds"]) == ("Hall car park", {"standard": 40, "accessible": 2, "ev": 4})


@pytest.mark.parametrize("real", ["FIRESTORE_EMULATOR_HOST", "FIREBASE_AUTH_EMULATOR_HOST"])
def test_seed_refuses_to_run_against_a_real_project(app, make_app, real):
    # Seeding a real project would give it an admin whose password is in this repository.
    configured = make_app(**{real: ""})
    result = configured.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code != 0
    assert "runs only against the Firestore and Auth emulators" in result.output
    with app.app_context():
        assert not db().collection("venues").document(DEMO_VENUE_ID).get().exists
        with pytest.raises(UserNotFoundError):
            get_firebase().get_user_by_email("admin@boxoffice.test")


def test_seed_opens_a_kitchen_and_a_merchandise_stand_for_the_demo_event(app, client, stack):
    with app.app_context():
        seed_demo()
        seed_demo()
    stands = client.get(f"/api/v1/events/{DEMO_EVENT_ID}/stands").json["items"]
    assert [(s["id"], s["kind"]) for s in stands] == [("demo-kitchen", "food"), ("demo-merch", "merchandise")]
    menu = client.get("/api/v1/stands/demo-kitchen/menu", query_string={"event_id": DEMO_EVENT_ID}).json
    assert menu["open"] and [i["id"] for i in menu["items"]] == ["beer", "burger", "fries"]
    [scarf] = client.get("/api/v1/stands/demo-merch/menu", query_string={"event_id": DEMO_EVENT_ID}).json["items"]
    assert (scarf["stock"], scarf["remaining"]) == (50, 50)
    token = sign_in(stack, "staff@boxoffice.test", "staff-pass-123")["idToken"]
    queue = client.get("/api/v1/stands/demo-kitchen/queue", query_string={"event_id": DEMO_EVENT_ID},
                       headers={"Authorization": f"Bearer {token}"})
    assert (queue.status_code, queue.json["items"]) == (200, [])
