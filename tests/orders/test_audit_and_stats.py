"""The audit log of financial and admin actions, and an event's sales figures."""
from app.auth import Role


def test_financial_actions_are_audited_with_who_and_the_request_id(make_shop, make_user):
    shop = make_shop()
    buyer, admin, organizer = make_user(), make_user(Role.ADMIN), make_user(Role.ORGANIZER)
    order = shop.buy(buyer)
    paid = shop.mark_paid(shop.owner, order["id"])
    refund = shop.refund(shop.owner, order["id"])
    assert refund.status_code == 201
    log = shop.client.get("/api/v1/admin/audit", headers=admin.headers).json["items"]
    actions = [(entry["action"], entry["actor_uid"]) for entry in log]
    assert actions[:3] == [("order.refunded", shop.owner.uid), ("payment.paid", shop.owner.uid),
                           ("order.created", buyer.uid)]
    assert log[0]["request_id"] == refund.headers["X-Request-ID"]
    assert log[1]["request_id"] == paid.headers["X-Request-ID"]
    assert log[0]["details"]["amount"] == 2500 and log[0]["target"] == f"order/{order['id']}"
    for user in (buyer, organizer, shop.owner):
        assert shop.client.get("/api/v1/admin/audit", headers=user.headers).status_code == 403
    page = shop.client.get("/api/v1/admin/audit?limit=1&action=payment.paid", headers=admin.headers).json
    assert [e["action"] for e in page["items"]] == ["payment.paid"] and page["next_cursor"] is None


def test_stats_count_sold_held_revenue_and_refunds_per_ticket_type(make_shop, make_user):
    shop = make_shop(capacity=10)
    buyer, organizer, admin = make_user(), make_user(Role.ORGANIZER), make_user(Role.ADMIN)
    kept = shop.paid(buyer, 2)
    refunded = shop.paid(buyer, 1)
    shop.refund(shop.owner, refunded["id"])
    shop.buy(buyer, 1)
    shop.hold(buyer, 3)
    stats = shop.client.get(f"/api/v1/events/{shop.id}/stats", headers=shop.owner.headers).json
    assert (stats["sold"], stats["held"]) == (2, 4)
    assert (stats["gross"], stats["refunds"], stats["revenue"], stats["orders_paid"]) == (7500, 2500, 5000, 2)
    row = stats["ticket_types"][0]
    assert (row["sold"], row["held"], row["gross"], row["refunds"], row["revenue"]) == (2, 4, 7500, 2500, 5000)
    assert kept["total"] == 5000
    assert shop.client.get(f"/api/v1/events/{shop.id}/stats", headers=admin.headers).status_code == 200
    assert shop.client.get(f"/api/v1/events/{shop.id}/stats", headers=organizer.headers).status_code == 403
    assert shop.client.get(f"/api/v1/events/{shop.id}/stats", headers=buyer.headers).status_code == 403
