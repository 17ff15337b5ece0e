"""What a stand sold at an event, and how fast its orders got ready."""
from datetime import timedelta

import time_machine

from app.auth import Role
from app.timeutil import utcnow
from tests.orders.conftest import error


def test_stats_add_up_revenue_items_top_items_and_the_median_time_to_ready(make_bar, make_user):
    bar = make_bar()
    start = utcnow()

    def at(minutes):
        return time_machine.travel(start + timedelta(minutes=minutes), tick=False)

    with at(0):
        quick = bar.paid(make_user(), bar.burger(2), bar.line("fries", variant_id="small"), tip=100)
    with at(1):
        slow = bar.paid(make_user(), bar.burger(1, options=["mayo", "bacon"]))
        waiting = bar.paid(make_user(), bar.line("scarf", 1), bar.line("fries", variant_id="large"))
    quick_order, slow_order = (bar.stand_orders(bar.owner, o["id"])[0]["id"] for o in (quick, slow))
    with at(2):
        bar.move(bar.staff, quick_order, "preparing")
        bar.move(bar.staff, slow_order, "preparing")
    with at(4):
        bar.move(bar.staff, quick_order, "ready")  # 4 minutes after it was received
    with at(7):
        bar.move(bar.staff, slow_order, "ready")  # 6 minutes
    fries = waiting["items"][1]
    assert bar.shop.refund(bar.owner, waiting["id"], line_ids=[fries["id"]]).status_code == 201

    stats = bar.call("GET", f"/stands/{bar.id}/stats", bar.owner, 200, query_string={"event_id": bar.shop.id}).json
    assert stats["revenue"] == quick["total"] + slow["total"] + waiting["total"] - fries["total"]
    assert (stats["tips"], stats["items_sold"], stats["currency"]) == (100, 5, "EUR")
    assert stats["orders"] == {"received": 1, "preparing": 0, "ready": 2, "completed": 0, "cancelled": 0}
    assert [(i["item_id"], i["quantity"]) for i in stats["top_items"]] == [("burger", 3), ("scarf", 1), ("fries", 1)]
    assert stats["median_ready_seconds"] == 300.0


def test_stats_are_for_the_venues_owner_and_admins(make_bar, make_user):
    bar = make_bar()
    query = {"event_id": bar.shop.id}
    assert error(bar.call("GET", f"/stands/{bar.id}/stats", bar.staff, query_string=query)) == (403, "forbidden")
    assert error(bar.call("GET", f"/stands/{bar.id}/stats", make_user(Role.ORGANIZER), query_string=query)) == (
        403, "forbidden")
    empty = bar.call("GET", f"/stands/{bar.id}/stats", make_user(Role.ADMIN), 200, query_string=query).json
    assert (empty["revenue"], empty["items_sold"], empty["top_items"], empty["median_ready_seconds"]) == (
        0, 0, [], None)
