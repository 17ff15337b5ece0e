"""The organizer dashboard and an event's stats come from counters kept by the orders' signals, and match the
orders they summarise: after partial and whole refunds, across events in different time zones, when a signal is
delivered twice, and when one was lost and the scheduler caught up."""
from collections import defaultdict
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from app.auth import Role
from app.orders.records import order_ref
from app.orders.signals import order_paid
from app.reports import _order_paid, counters
from app.reports import dashboard as dashboard_module
from app.timeutil import utcnow
from tests.factories import shop_for


@pytest.fixture
def organizer_sales(app, client, make_user, make_event, make_ticket_type):
    """An organizer's two events in time zones a day apart, each with orders paid and refunded."""
    owner, buyer = make_user(Role.ORGANIZER), make_user()
    east = shop_for(client, owner, make_event(owner, timezone="Pacific/Kiritimati", ticket_type={"capacity": 20}))
    west = shop_for(client, owner, make_event(owner, timezone="Pacific/Pago_Pago",
                                              ticket_type={"capacity": 20, "price": 1999, "currency": "USD"}))
    make_ticket_type(owner, east.sale.event, name="Balcony", price=4000, capacity=10)
    balcony = client.get(f"/api/v1/events/{east.id}/ticket-types", headers=owner.headers).json[1]
    east.paid(buyer, 3)
    partly = east.paid(buyer, 2)
    assert east.refund(owner, partly["id"], [partly["tickets"][0]["ticket_id"]]).status_code == 201
    both = east.buy(buyer, 1)
    east.cancel(buyer, both["id"])
    upstairs = east.order(buyer, east.hold(buyer, 0, lines=[{"ticket_type_id": balcony["id"], "quantity": 2}])["id"])
    assert east.mark_paid(owner, upstairs.json["id"]).status_code == 200
    whole = west.paid(buyer, 4)
    assert west.refund(owner, whole["id"]).status_code == 201
    west.paid(buyer, 1)
    return owner, [east, west]


def expected_from_orders(client, owner, shops):
    """What the dashboard must say, summed from the orders themselves as the API shows them."""
    totals = defaultdict(lambda: defaultdict(int))
    by_type = defaultdict(lambda: defaultdict(int))
    days = defaultdict(lambda: defaultdict(int))
    for shop in shops:
        zone = ZoneInfo(shop.sale.event["timezone"])
        page = client.get(f"/api/v1/orders?event_id={shop.id}&limit=100", headers=owner.headers).json
        for order in page["items"]:
            if order["paid_at"] is None:
                continue
            paid_day = datetime.fromisoformat(order["paid_at"]).astimezone(zone).date().isoformat()
            money = totals[order["currency"]]
            money["orders"] += 1
            days[(paid_day, order["currency"])]["gross"] += order["total"]
            for unit in order["units"]:
                line = next(line for line in order["items"] if line["id"] == unit["line_id"])
                row = by_type[(shop.id, line["ticket_type_id"])]
                money["units"] += 1
                money["gross"] += unit["amount"]
                row["units"] += 1
                row["gross"] += unit["amount"]
                if unit["refunded"]:
                    money["refunded_units"] += 1
                    money["refunded"] += unit["amount"]
                    row["refunded"] += unit["amount"]
            for refund in order["refunds"]:
                money["refunds"] += 1
                refund_day = datetime.fromisoformat(refund["created_at"]).astimezone(zone).date().isoformat()
                days[(refund_day, order["currency"])]["refunded"] += refund["amount"]
    return totals, by_type, days


def dashboard(client, user, **query):
    response = client.get("/api/v1/dashboard", query_string=query, headers=user.headers)
    assert response.status_code == 200, response.json
    return response.json


def summary(board):
    totals = {row["currency"]: {k: row[k] for k in ("orders", "units", "gross", "refunds", "refunded_units",
                                                      "refunded")} for row in board["totals"]}
    by_type = {(event["event_id"], row["catalog_id"]): {"units": row["units"], "gross": row["gross"],
                                                         "refunded": row["refunded"]}
               for event in board["events"] for row in event["ticket_types"]}
    days = {(row["day"], row["currency"]): {"gross": row["gross"], "refunded": row["refunded"]}
            for row in board["series"]}
    return totals, by_type, days


def test_the_dashboard_matches_the_orders_it_summarises_after_refunds(client, organizer_sales):
    owner, shops = organizer_sales
    totals, by_type, days = expected_from_orders(client, owner, shops)
    board = dashboard(client, owner)
    got_totals, got_types, got_days = summary(board)
    assert got_totals == {currency: dict(money) for currency, money in totals.items()}
    assert got_types == {key: {"units": row["units"], "gross": row["gross"], "refunded": row["refunded"]}
                         for key, row in by_type.items()}
    assert got_days == {key: {"gross": row["gross"], "refunded": row["refunded"]} for key, row in days.items()}
    # Kiritimati (UTC+14) and Pago Pago (UTC-11) are never on the same date: each sale is on its event's day.
    assert {day for day, currency in got_days if currency == "EUR"}.isdisjoint(
        {day for day, currency in got_days if currency == "USD"})
    usd = next(row for row in board["totals"] if row["currency"] == "USD")
    assert (usd["gross"], usd["refunded"], usd["net"]) == (5 * 1999, 4 * 1999, 1999)
    assert [(k["kind"], k["currency"]) for k in board["kinds"]] == [("ticket", "EUR"), ("ticket", "USD")]
    east = next(e for e in board["events"] if e["event_id"] == shops[0].id)
    assert east["checkin"] == {"checked_in": 0, "valid_tickets": 6, "progress": 0.0}
    assert [row["name"] for row in east["ticket_types"]] == ["Balcony", "General admission"]


def test_the_event_stats_agree_with_the_dashboard(client, organizer_sales):
    owner, shops = organizer_sales
    board = dashboard(client, owner)
    for shop in shops:
        stats = client.get(f"/api/v1/events/{shop.id}/stats", headers=owner.headers).json
        event = next(e for e in board["events"] if e["event_id"] == shop.id)
        [money] = event["totals"]
        assert (stats["gross"], stats["refunds"], stats["revenue"], stats["orders_paid"]) == (
            money["gross"], money["refunded"], money["net"], money["orders"])
        assert {r["ticket_type_id"]: r["gross"] for r in stats["ticket_types"] if r["gross"]} == {
            r["catalog_id"]: r["gross"] for r in event["ticket_types"]}


def test_a_signal_delivered_again_counts_once(app, client, organizer_sales):
    owner, shops = organizer_sales
    before = dashboard(client, owner)
    orders = client.get(f"/api/v1/orders?event_id={shops[0].id}&payment_status=paid", headers=owner.headers).json
    with app.app_context():
        stored = order_ref(orders["items"][0]["id"]).get().to_dict()
        order_paid.send(stored)
        assert counters.record_sale(stored) is False
        for refund in stored["refunds"]:
            assert counters.record_refund(stored, refund) is False
    assert dashboard(client, owner)["totals"] == before["totals"]


def test_a_sale_whose_signal_was_lost_is_caught_up_by_the_scheduler(app, make_shop, make_user, client):
    shop, buyer = make_shop(capacity=10), make_user()
    # The process that paid it died before the counters' receiver ran.
    order_paid.disconnect(_order_paid)
    try:
        lost = shop.paid(buyer, 2)
    finally:
        order_paid.connect(_order_paid)
    assert dashboard(client, shop.owner)["totals"] == []
    with app.app_context(), time_machine.travel(utcnow() + counters.SETTLE + timedelta(seconds=1), tick=False):
        assert counters.catch_up_sales() == 1
        assert counters.catch_up_sales() == 0
    [money] = dashboard(client, shop.owner)["totals"]
    assert (money["orders"], money["units"], money["gross"]) == (1, 2, lost["total"])


def test_the_window_and_who_may_see_a_dashboard(client, organizer_sales, make_user):
    owner, shops = organizer_sales
    other, admin = make_user(Role.ORGANIZER), make_user(Role.ADMIN)
    today = utcnow().date()
    empty = dashboard(client, owner, **{"from": (today - timedelta(days=40)).isoformat(),
                                        "to": (today - timedelta(days=10)).isoformat()})
    assert empty["series"] == [] and empty["totals"] == dashboard(client, owner)["totals"]
    assert dashboard(client, other)["events"] == []
    assert dashboard(client, admin, organizer_uid=owner.uid)["totals"] == dashboard(client, owner)["totals"]
    assert client.get(f"/api/v1/dashboard?organizer_uid={owner.uid}", headers=other.headers).status_code == 403
    assert client.get("/api/v1/dashboard?organizer_uid=nobody", headers=admin.headers).status_code == 404
    assert client.get("/api/v1/dashboard?from=2025-02-01&to=2025-01-01", headers=owner.headers).status_code == 422
    assert client.get("/api/v1/dashboard?from=2020-01-01&to=2025-01-01", headers=owner.headers).status_code == 422


def test_the_series_runs_by_default_to_today_where_an_event_is_furthest_ahead():
    # At noon UTC, Kiritimati (UTC+14) is on the next day: a sale made there today falls on that day, so the
    # default series must reach it. (The dashboard test above sees this only in UTC's afternoon.)
    with time_machine.travel(datetime(2026, 12, 2, 12, 0, tzinfo=ZoneInfo("UTC")), tick=False):
        assert dashboard_module.latest_today({"Pacific/Pago_Pago", "Pacific/Kiritimati"}).isoformat() == "2026-12-03"
        assert dashboard_module.latest_today({"Pacific/Pago_Pago"}).isoformat() == "2026-12-02"
        assert dashboard_module.latest_today(set()).isoformat() == "2026-12-02"
