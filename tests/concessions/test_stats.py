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
        slowest = bar.paid(make_user(), bar.line("beer", 1, age_confirmed=True))
        waiting = bar.paid(make_user(), bar.line("scarf", 1), bar.line("fries", variant_id="large"))
    made = [bar.stand_orders(bar.owner, o["id"])[0]["id"] for o in (quick, slow, slowest)]
    with at(2):
        for stand_order in made:
            bar.move(bar.staff, stand_order, "preparing")
    # Ready 4, 6 and 14 minutes after they were received: the median is 6, the mean 8.
    for stand_order, minutes in zip(made, (4, 7, 15)):
        with at(minutes):
            bar.move(bar.staff, stand_order, "ready")
    fries = waiting["items"][1]
    assert bar.shop.refund(bar.owner, waiting["id"], line_ids=[fries["id"]]).status_code == 201

    stats = bar.call("GET", f"/stands/{bar.id}/stats", bar.owner, 200, query_string={"event_id": bar.shop.id}).json
    assert stats["revenue"] == sum(o["total"] for o in (quick, slow, slowest, waiting)) - fries["total"]
    assert (stats["tips"], stats["items_sold"], stats["currency"]) == (100, 6, "EUR")
    assert stats["orders"] == {"received": 1, "preparing": 0, "ready": 3, "completed": 0, "cancelled": 0}
    assert [(i["item_id"], i["quantity"]) for i in stats["top_items"]] == [
        ("burger", 3), ("scarf", 1), ("beer", 1), ("fries", 1)]
    assert stats["median_ready_seconds"] == 360.0


def test_stats_are_for_the_venues_owner_and_admins(make_bar, make_user):
    bar = make_bar()
    query = {"event_id": bar.shop.id}
    assert error(bar.call("GET", f"/stands/{bar.id}/stats", bar.staff, query_string=query)) == (403, "forbidden")
    assert error(bar.call("GET", f"/stands/{bar.id}/stats", make_user(Role.ORGANIZER), query_string=query)) == (
        403, "forbidden")
    empty = bar.call("GET", f"/stands/{bar.id}/stats", make_user(Role.ADMIN), 200, query_string=query).json
    assert (empty["revenue"], empty["items_sold"], empty["top_items"], empty["median_ready_seconds"]) == (
        0, 0, [], None)
