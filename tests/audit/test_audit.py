"""The audit trail: every admin and money action writes one entry with its actor, the client's address and user
agent, the request id and the values before and after; admins search it by actor, action, target and time."""
import pytest

from app.auth import Role
from app.firebase import db
from app.orders.refund_queue import REFUNDS
from tests.factories import event_data, iso, ticket_type_data, venue_data

CLIENT = {"User-Agent": "BackOffice-test/1.0"}
ADDRESS = "203.0.113.9"


@pytest.fixture
def act(client):
    """Call the API as a user from ADDRESS with CLIENT's user agent; the response's JSON and request id."""
    def call(method, path, user, body=None, status=200):
        response = client.open(f"/api/v1{path}", method=method, json=body, headers={**user.headers, **CLIENT},
                               environ_base={"REMOTE_ADDR": ADDRESS})
        body = response.json if response.data else None
        assert response.status_code == status, (path, body)
        return body, response.headers["X-Request-ID"]

    return call


def entries(client, admin, **query):
    response = client.get("/api/v1/admin/audit", query_string={"limit": 100, **query}, headers=admin.headers)
    assert response.status_code == 200, response.json
    return response.json["items"]


def test_every_admin_and_money_action_writes_who_where_and_what_changed(app, client, make_user, act):
    admin, owner, staff, customer = (make_user(Role.ADMIN), make_user(Role.ORGANIZER), make_user(Role.STAFF),
                                     make_user())
    # A role change revokes the user's session, so the promoted user is not the one who goes on to buy.
    promoted = make_user()
    act("GET", "/auth/me", customer)  # the app's first call after sign-in keeps the profile that erasure clears
    requests = {}

    def did(action, method, path, user, body=None, status=200):
        result, requests[action] = act(method, path, user, body, status)
        return result

    did("user.role_changed", "PUT", f"/admin/users/{promoted.uid}/role", admin, {"role": "staff"})
    act("PUT", f"/admin/users/{promoted.uid}/role", admin, {"role": "customer"})
    venue = did("venue.created", "POST", "/venues", owner, {**venue_data(), "seat_map": None}, 201)
    did("venue.updated", "PATCH", f"/venues/{venue['id']}", owner,
        {"tax_rates": {"ticket": {"basis_points": 700, "inclusive": True}}})
    did("venue.staff_added", "POST", f"/venues/{venue['id']}/staff", owner, {"uid": staff.uid})
    did("venue.staff_removed", "DELETE", f"/venues/{venue['id']}/staff", owner, {"uid": staff.uid}, 204)
    data = event_data(venue["id"])
    event = did("event.created", "POST", "/events", owner,
                {**data, "starts_at": iso(data["starts_at"]), "ends_at": iso(data["ends_at"])}, 201)
    ticket_type = did("ticket_type.created", "POST", f"/events/{event['id']}/ticket-types", owner,
                      ticket_type_data(), 201)
    did("ticket_type.updated", "PATCH", f"/events/{event['id']}/ticket-types/{ticket_type['id']}", owner,
        {"price": 3000})
    did("event.published", "POST", f"/events/{event['id']}/publish", owner)
    did("event.updated", "PATCH", f"/events/{event['id']}", owner, {"title": "Later Jazz"})
    did("discount.created", "POST", f"/events/{event['id']}/discounts", owner,
        {"code": "EARLYBIRD10", "kind": "percent", "percent_off": 10}, 201)
    hold = did("hold", "POST", f"/events/{event['id']}/holds", customer,
               {"items": [{"ticket_type_id": ticket_type["id"], "quantity": 1}]}, 201)
    order = did("order.created", "POST", "/orders", customer, {"hold_id": hold["id"], "payment_method": "manual"}, 201)
    did("payment.paid", "POST", f"/orders/{order['id']}/mark-paid", owner)
    refunded = did("order.refunded", "POST", f"/orders/{order['id']}/refunds", owner, {"whole_order": True}, 201)
    with app.app_context():
        db().collection(REFUNDS).document(refunded["refunds"][0]["id"]).update({"state": "parked"})
    did("refund.retried", "POST", f"/admin/refunds/{refunded['refunds'][0]['id']}/retry", admin)
    did("event.cancelled", "POST", f"/events/{event['id']}/cancel", owner)
    did("event.deleted", "DELETE", f"/events/{event['id']}", owner, status=204)
    did("user.disabled", "POST", f"/admin/users/{staff.uid}/disable", admin)
    did("user.enabled", "POST", f"/admin/users/{staff.uid}/enable", admin)
    did("user.password_changed", "POST", "/users/me/password", owner,
        {"current_password": owner.password, "new_password": "brand-new-pass-2"})
    did("user.erased", "DELETE", "/users/me", customer, status=204)

    # Newest first: where an action happened twice, the first one stays.
    log = {entry["action"]: entry for entry in entries(client, admin)}
    expected = {
        "user.role_changed": ({"role": "customer"}, {"role": "staff"}, admin, f"user/{promoted.uid}"),
        "venue.created": (None, {"name": "Grand Hall", "city": "Berlin"}, owner, f"venue/{venue['id']}"),
        "venue.updated": ({"tax_rates": {}}, {"tax_rates": {"ticket": {"basis_points": 700, "inclusive": True}}},
                          owner, f"venue/{venue['id']}"),
        "venue.staff_added": ({"staff_uids": []}, {"staff_uids": [staff.uid]}, owner, f"venue/{venue['id']}"),
        "venue.staff_removed": ({"staff_uids": [staff.uid]}, {"staff_uids": []}, owner, f"venue/{venue['id']}"),
        "event.created": (None, {"title": "Jazz Night", "status": "draft"}, owner, f"event/{event['id']}"),
        "ticket_type.created": (None, {"price": 2500, "capacity": 100}, owner,
                                f"ticket_type/{event['id']}/{ticket_type['id']}"),
        "ticket_type.updated": ({"price": 2500}, {"price": 3000}, owner,
                                f"ticket_type/{event['id']}/{ticket_type['id']}"),
        "event.published": ({"status": "draft", "published_at": None}, {"status": "published"}, owner,
                            f"event/{event['id']}"),
        "event.updated": ({"title": "Jazz Night"}, {"title": "Later Jazz"}, owner, f"event/{event['id']}"),
        "discount.created": (None, {"code": "EARLYBIRD10", "percent_off": 10}, owner, None),
        "order.created": (None, {"state": "pending_payment", "total": 3000}, customer, f"order/{order['id']}"),
        "payment.paid": ({"state": "pending_payment", "refunded_amount": 0}, {"state": "paid", "refunded_amount": 0},
                         owner, f"order/{order['id']}"),
        "order.refunded": ({"state": "paid", "refunded_amount": 0}, {"state": "refunded", "refunded_amount": 3000},
                           owner, f"order/{order['id']}"),
        "refund.retried": ({"state": "parked"}, {"state": "pending", "attempts": 0}, admin,
                           f"refund/{refunded['refunds'][0]['id']}"),
        "event.cancelled": ({"status": "published", "cancelled_at": None}, {"status": "cancelled"}, owner,
                            f"event/{event['id']}"),
        "event.deleted": ({"deleted_at": None}, {}, owner, f"event/{event['id']}"),
        "user.disabled": ({"disabled": False}, {"disabled": True}, admin, f"user/{staff.uid}"),
        "user.enabled": ({"disabled": True}, {"disabled": False}, admin, f"user/{staff.uid}"),
        "user.password_changed": (None, None, owner, f"user/{owner.uid}"),
        "user.erased": ({"personal_fields": ["email"], "devices": 0, "deleted_at": None},
                        {"personal_fields": [], "devices": 0}, customer, f"user/{customer.uid}"),
    }
    for action, (before, after, actor, target) in expected.items():
        entry = log.get(action)
        assert entry is not None, f"no audit entry for {action}"
        assert (entry["actor_uid"], entry["ip"], entry["user_agent"], entry["request_id"]) == (
            actor.uid, ADDRESS, CLIENT["User-Agent"], requests[action]), action
        assert target is None or entry["target"] == target, action
        for side, wanted in (("before", before), ("after", after)):
            if wanted is None:
                assert entry[side] is None, (action, side, entry[side])
            else:
                assert entry[side] is not None and wanted.items() <= entry[side].items(), (action, side, entry[side])
    assert "deleted_at" in log["event.deleted"]["after"] and log["event.deleted"]["after"]["deleted_at"]
    # Erasure says what it erased, never the erased values.
    assert customer.email not in str(log["user.erased"])


def test_admins_search_the_trail_by_actor_action_target_and_time(client, make_user, make_shop):
    admin = make_user(Role.ADMIN)
    shop = make_shop(capacity=10)
    buyer = make_user()
    first = shop.paid(buyer)
    middle = entries(client, admin, action="payment.paid")[0]["created_at"]
    second = shop.paid(buyer)
    shop.refund(shop.owner, second["id"])
    owner_entries = entries(client, admin, actor_uid=shop.owner.uid)
    assert {e["actor_uid"] for e in owner_entries} == {shop.owner.uid}
    assert [e["target"] for e in entries(client, admin, action="payment.paid")] == [f"order/{second['id']}",
                                                                                     f"order/{first['id']}"]
    assert [e["action"] for e in entries(client, admin, target=f"order/{second['id']}")] == [
        "order.refunded", "payment.paid", "order.created"]
    assert [e["target"] for e in entries(client, admin, action="payment.paid", to=middle)] == []
    assert [e["target"] for e in entries(client, admin, action="payment.paid", **{"from": middle})] == [
        f"order/{second['id']}", f"order/{first['id']}"]
    later = entries(client, admin, actor_uid=shop.owner.uid, target=f"order/{second['id']}", event_id=shop.id,
                    **{"from": middle})
    assert [e["action"] for e in later] == ["order.refunded", "payment.paid"]
    counted = client.get("/api/v1/admin/audit", query_string={"action": "payment.paid", "with_total": "true",
                                                               "limit": 1}, headers=admin.headers).json
    assert (len(counted["items"]), counted["has_more"], counted["total"]) == (1, True, 2)
    for user in (buyer, shop.owner):
        assert client.get("/api/v1/admin/audit", headers=user.headers).status_code == 403


def test_the_trail_cannot_be_changed_through_the_api(app):
    methods = {method for rule in app.url_map.iter_rules() if "audit" in rule.rule for method in rule.methods}
    assert methods <= {"GET", "HEAD", "OPTIONS"}
