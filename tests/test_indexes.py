"""Every Firestore query the code runs is served by firestore.indexes.json.

The emulator serves any query without indexes, so this test records the
queries the code really sends (every list filter combination, the internal
look-ups behind deleting, renaming, publishing and completing, and the
inventory's claim, count, resize and sweep queries) and checks each
against the rules Firestore documents:
- equality filters alone (==, array-contains, is null) merge single-field indexes;
- one field alone, ordered or ranged, uses its single-field index;
- equality filters with an order (no range) may merge composite indexes that
  each start with some of the equality fields and end with the order fields;
- a range filter needs one composite index: all equality fields, then the
  range and order fields.
"""
import itertools
import json
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

from google.cloud.firestore_v1.aggregation import AggregationQuery
from google.cloud.firestore_v1.query import Query
from google.cloud.firestore_v1.types import StructuredQuery

from app.auth import Role
from app.events import lifecycle
from app.checkout.service import expire_holds
from app.concessions.queue import cancel_unaccepted_orders
from app.orders.cancellation import settle_cancelled_events
from app.orders.refund_queue import send_refunds
from app.notifications.reminders import send_parking_reminders
from app.orders.unpaid import expire_orders
from app.parking.sessions import flag_overdue_sessions
from app.payouts.repair import repair_bookings
from app.payouts.transfers import send_payouts
from app.reports.counters import catch_up_sales
from app.singleflight import sweep_flights
from app.timeutil import utcnow
from tests.parking.conftest import make_garage, slot_start  # noqa: F401  (the fixture)

INDEXES = Path(__file__).resolve().parents[1] / "firestore.indexes.json"
# "in" is a disjunction of equalities: Firestore serves it with the indexes an equality would use.
EQUALITY = {StructuredQuery.FieldFilter.Operator.EQUAL: "ASCENDING",
            StructuredQuery.FieldFilter.Operator.IN: "ASCENDING",
            StructuredQuery.FieldFilter.Operator.ARRAY_CONTAINS: "CONTAINS"}


def shape(query):
    """(collection, {equality field: ASCENDING|CONTAINS}, [range fields], [(order field, direction)])."""
    equalities, ranges = {}, []
    pending = [query.where] if query.where else []
    while pending:
        node = pending.pop()
        if node.composite_filter.filters:
            pending.extend(node.composite_filter.filters)
        elif node.unary_filter.field.field_path:
            equalities[node.unary_filter.field.field_path] = "ASCENDING"
        else:
            field = node.field_filter.field.field_path
            if node.field_filter.op in EQUALITY:
                equalities[field] = EQUALITY[node.field_filter.op]
            else:
                ranges.append(field)
    orders = [(o.field.field_path, StructuredQuery.Direction(o.direction).name) for o in query.order_by
              if o.field.field_path != "__name__"]
    if ranges and not orders:
        orders = [(ranges[0], "ASCENDING")]
    return query.from_[0].collection_id, equalities, ranges, orders


def index_fields(index):
    return [(f["fieldPath"], f.get("order") or f["arrayConfig"]) for f in index["fields"]]


def fixed_by(prefix, equalities):
    """Whether the query's equality filters fix every prefix field: arrays by array-contains, others by ==."""
    return all(f in equalities and (mode == "CONTAINS") == (equalities[f] == "CONTAINS") for f, mode in prefix)


def serving_indexes(query, indexes):
    """The composite indexes that serve the query: [] when single-field indexes do, None when nothing does."""
    collection, equalities, ranges, orders = shape(query)
    if not orders or (not equalities and len({f for f, _ in orders}) == 1):
        return []
    usable = [fields for fields in (index_fields(i) for i in indexes if i["collectionGroup"] == collection)
              if len(fields) > len(orders) and fields[-len(orders):] == orders
              and fixed_by(fields[:-len(orders)], equalities)]
    if ranges:
        exact = [f for f in usable if {name for name, _ in f[:-len(orders)]} == set(equalities)]
        return exact[:1] or None
    covered = {name for fields in usable for name, _ in fields[:-len(orders)]}
    return usable if covered >= set(equalities) else None


def inventory_journey(app, client, owner, make_user, make_event, make_ticket_type):
    """Holds (general and seated), availability, release, resizing, deletion and the expiry sweep."""
    buyer = make_user()
    event = make_event(owner, published=False, ticket_type={"capacity": 5})
    seated = make_ticket_type(owner, event, name="Stalls", kind="seated", sections=["stalls"], capacity=None)
    general = client.get(f"/api/v1/events/{event['id']}/ticket-types", headers=owner.headers).json[0]
    assert client.post(f"/api/v1/events/{event['id']}/publish", headers=owner.headers).status_code == 200
    holds = f"/api/v1/events/{event['id']}/holds"
    hold = client.post(holds, json={"items": [{"ticket_type_id": general["id"], "quantity": 5}]},
                       headers=buyer.headers).json
    assert client.post(holds, json={"items": [{"ticket_type_id": general["id"], "quantity": 1}]},
                       headers=make_user().headers).status_code == 409
    assert client.post(holds, json={"seats": ["stalls:A:1"]}, headers=buyer.headers).status_code == 201
    assert client.get(f"/api/v1/events/{event['id']}/availability").status_code == 200
    assert client.delete(f"/api/v1/holds/{hold['id']}", headers=buyer.headers).status_code == 200
    types = f"/api/v1/events/{event['id']}/ticket-types"
    assert client.patch(f"{types}/{general['id']}", json={"capacity": 3}, headers=owner.headers).status_code == 200
    assert client.delete(f"{types}/{general['id']}", headers=owner.headers).status_code == 204
    assert client.patch(f"{types}/{seated['id']}", json={"sections": ["stalls", "balcony"]},
                        headers=owner.headers).status_code == 200
    with app.app_context():
        expire_holds()


def orders_journey(app, client, owner, make_user, make_event):
    """An order paid at the box office, the lists around it, refunds, stats, audit and the expiry sweep."""
    buyer, admin = make_user(), make_user(Role.ADMIN)
    event = make_event(owner, ticket_type={"capacity": 5})
    holds = f"/api/v1/events/{event['id']}/holds"
    general = client.get(f"/api/v1/events/{event['id']}/ticket-types").json[0]
    hold = client.post(holds, json={"items": [{"ticket_type_id": general["id"], "quantity": 1}]},
                       headers=buyer.headers).json
    order = client.post("/api/v1/orders", json={"hold_id": hold["id"], "payment_method": "manual"},
                        headers=buyer.headers).json
    assert client.post(f"/api/v1/orders/{order['id']}/mark-paid", headers=owner.headers).status_code == 200
    assert client.get("/api/v1/orders", headers=buyer.headers).status_code == 200
    assert client.get(f"/api/v1/orders?event_id={event['id']}", headers=owner.headers).status_code == 200
    assert client.get("/api/v1/tickets", headers=buyer.headers).status_code == 200
    assert client.get(f"/api/v1/events/{event['id']}/discounts", headers=owner.headers).status_code == 200
    assert client.get(f"/api/v1/events/{event['id']}/stats", headers=owner.headers).status_code == 200
    assert client.post(f"/api/v1/orders/{order['id']}/refunds", json={"whole_order": True},
                       headers=owner.headers).status_code == 201
    for query in ("", "?action=order.refunded", f"?event_id={event['id']}", f"?actor_uid={owner.uid}",
                  f"?action=order.refunded&event_id={event['id']}"):
        assert client.get(f"/api/v1/admin/audit{query}", headers=admin.headers).status_code == 200
    for query in ("", "?state=parked"):
        assert client.get(f"/api/v1/admin/refunds{query}", headers=admin.headers).status_code == 200
    paid_hold = client.post(holds, json={"items": [{"ticket_type_id": general["id"], "quantity": 1}]},
                            headers=buyer.headers).json
    paid = client.post("/api/v1/orders", json={"hold_id": paid_hold["id"], "payment_method": "manual"},
                       headers=buyer.headers).json
    assert client.post(f"/api/v1/orders/{paid['id']}/mark-paid", headers=owner.headers).status_code == 200
    assert client.post(holds, json={"items": [{"ticket_type_id": general["id"], "quantity": 1}]},
                       headers=buyer.headers).status_code == 201
    assert client.post(f"/api/v1/events/{event['id']}/cancel", headers=owner.headers).status_code == 200
    with app.app_context():
        expire_orders()
        send_refunds()
        settle_cancelled_events()
        sweep_flights()


def bought(client, owner, buyer, event, quantity):
    """(order, its tickets): the buyer's order of the event's first ticket type, paid at the box office."""
    general = client.get(f"/api/v1/events/{event['id']}/ticket-types").json[0]
    hold = client.post(f"/api/v1/events/{event['id']}/holds", headers=buyer.headers,
                       json={"items": [{"ticket_type_id": general["id"], "quantity": quantity}]}).json
    order = client.post("/api/v1/orders", json={"hold_id": hold["id"], "payment_method": "manual"},
                        headers=buyer.headers).json
    return order, client.post(f"/api/v1/orders/{order['id']}/mark-paid", headers=owner.headers).json["tickets"]


def checkin_journey(client, owner, make_user, make_event):
    """A paid ticket scanned at the door, the offline sync read page by page, an upload and the stats."""
    buyer = make_user()
    starts = utcnow().replace(microsecond=0) + timedelta(hours=1)
    event = make_event(owner, starts_at=starts, ends_at=starts + timedelta(hours=2), ticket_type={"capacity": 3})
    _, tickets = bought(client, owner, buyer, event, 2)
    codes = [client.get(f"/api/v1/tickets/{t['ticket_id']}", headers=buyer.headers).json["code"] for t in tickets]
    door = f"/api/v1/events/{event['id']}"
    scan = client.post(f"{door}/checkins", json={"code": codes[0], "nonce": "index-scan-1"}, headers=owner.headers)
    assert scan.json["result"] == "ok"
    upload = {"scans": [{"code": codes[1], "nonce": "index-scan-2", "scanned_at": utcnow().isoformat()}]}
    assert client.post(f"{door}/checkins/offline", json=upload, headers=owner.headers).status_code == 200
    cursor, pages = None, 0
    while pages < 5:
        page = client.get(f"{door}/checkin-sync", query_string={"limit": 1, **({"since": cursor} if cursor else {})},
                          headers=owner.headers).json
        cursor, pages = page["next_cursor"], pages + 1
    assert client.get(f"{door}/checkins/stats", headers=owner.headers).status_code == 200


def combinations(options):
    """Every subset of the options, as query strings."""
    for used in itertools.product((False, True), repeat=len(options)):
        yield urlencode({name: value for (name, value), on in zip(options.items(), used) if on})


def back_office_journey(app, client, owner, make_user, make_event):
    """The lists of orders, tickets and audit entries with every combination of their filters, for a buyer, an
    organizer and an admin; the dashboard, the exports, a customer's own data and the sales catch-up."""
    buyer, admin = make_user(), make_user(Role.ADMIN)
    event = make_event(owner, ticket_type={"capacity": 5})
    order, tickets = bought(client, owner, buyer, event, 2)
    assert client.post(f"/api/v1/orders/{order['id']}/refunds", json={"ticket_ids": [tickets[0]["ticket_id"]]},
                       headers=owner.headers).status_code == 201
    since, until = (utcnow() - timedelta(days=1)).isoformat(), (utcnow() + timedelta(days=1)).isoformat()
    window = {"from": since, "to": until, "with_total": "true"}
    for query in combinations({"event_id": event["id"], "buyer_uid": buyer.uid, "payment_status": "paid", **window}):
        for user in (owner, admin):
            assert client.get(f"/api/v1/orders?scope=managed&{query}", headers=user.headers).status_code == 200
    for status in ("pending_payment", "expired", "partially_refunded"):
        for query in (f"payment_status={status}", f"payment_status={status}&event_id={event['id']}"):
            assert client.get(f"/api/v1/orders?scope=own&{query}", headers=buyer.headers).status_code == 200
            assert client.get(f"/api/v1/orders?scope=managed&{query}", headers=owner.headers).status_code == 200
    for query in combinations({"event_id": event["id"], "order_id": order["id"], "checked_in": "false",
                               "with_total": "true"}):
        for user, scope in ((buyer, "own"), (owner, "managed"), (admin, "managed")):
            assert client.get(f"/api/v1/tickets?scope={scope}&{query}", headers=user.headers).status_code == 200
    for query in combinations({"action": "order.refunded", "event_id": event["id"], "actor_uid": owner.uid,
                               "target": f"order/{order['id']}", **window}):
        assert client.get(f"/api/v1/admin/audit?{query}", headers=admin.headers).status_code == 200
    assert client.get("/api/v1/dashboard", headers=owner.headers).status_code == 200
    assert client.get(f"/api/v1/dashboard?organizer_uid={owner.uid}", headers=admin.headers).status_code == 200
    for what in ("orders", "attendees", "checkins"):
        response = client.get(f"/api/v1/events/{event['id']}/exports/{what}.csv", headers=owner.headers)
        assert response.status_code == 200 and response.data
    assert client.get("/api/v1/users/me/export", headers=buyer.headers).status_code == 200
    with app.app_context():
        catch_up_sales()


def concessions_journey(app, bar, make_user):
    """A stand's lists and menu, a scarf and a burger delivered to a seat, the queue worked through, the stats,
    the job that cancels orders nobody accepted, a refused deletion and the stands closed with their event."""
    buyer = make_user()
    venue_id = bar.shop.sale.event["venue_id"]
    for user in (None, bar.owner):
        bar.call("GET", f"/venues/{venue_id}/stands", user, 200)
    bar.call("GET", f"/events/{bar.shop.id}/stands", None, 200)
    bar.call("GET", f"/stands/{bar.id}/items", None, 200)
    bar.menu()
    seat = bar.shop.sale.hold(buyer, seats=["stalls:A:1"]).json
    bar.shop.mark_paid(bar.owner, bar.shop.order(buyer, seat["id"]).json["id"])
    delivered = {"method": "seat", "seat": "stalls:A:1"}
    stand_order = bar.order_up(buyer, bar.line("scarf", fulfilment=delivered), bar.burger(fulfilment=delivered))
    waiting = bar.order_up(buyer, bar.burger())
    for query in ({}, {"state": "received"}):
        bar.queue(bar.staff, **query)
    for state in ("preparing", "ready"):
        bar.move(bar.staff, stand_order["id"], state)
    bar.redeem(bar.staff, code=stand_order["pickup_code"])
    bar.call("GET", f"/stands/{bar.id}/stats", bar.owner, 200, query_string={"event_id": bar.shop.id})
    bar.call("DELETE", f"/stands/{bar.id}", bar.owner, 409)
    bar.move(bar.staff, waiting["id"], "cancelled")
    with app.app_context():
        cancel_unaccepted_orders()
    bar.call("POST", f"/events/{bar.shop.id}/cancel", bar.owner, 200)


def parking_journey(app, client, make_garage, make_user):
    """A lot listed, quoted, booked, paid, scanned in and out by pass and plate, a drive-up started, listed, ended
    and settled, the lot's stats, the buyer's passes, the scheduler's parking jobs and a refused deletion."""
    garage = make_garage()
    buyer = make_user()
    venue_lots = f"/api/v1/venues/{garage.lot['venue_id']}/parking-lots"
    assert client.get(venue_lots).status_code == client.get(venue_lots, headers=garage.owner.headers).status_code == 200
    start = slot_start()
    window = {"from": start.isoformat(), "to": (start + timedelta(hours=2)).isoformat()}
    assert client.get(f"{garage.path}/availability", query_string=window).status_code == 200
    booked = garage.pass_of(garage.paid(buyer, plate="IX 1"), buyer)
    assert garage.scan("entry", plate="IX1")["result"] == "ok"
    assert garage.scan("exit", code=booked["code"])["result"] == "ok"
    session = client.post(f"{garage.path}/sessions", json={"plate": "IX 2", "event_id": garage.event["id"]},
                          headers=garage.staff.headers).json
    for state in ("", "?state=open", "?state=flagged"):
        assert client.get(f"{garage.path}/sessions{state}", headers=garage.staff.headers).status_code == 200
    assert garage.scan("exit", plate="IX2")["result"] == "ok"
    assert client.get(f"/api/v1/parking-sessions/{session['id']}", headers=garage.staff.headers).status_code == 200
    assert client.get(f"{garage.path}/stats", headers=garage.owner.headers).status_code == 200
    assert client.get("/api/v1/parking-passes", headers=buyer.headers).status_code == 200
    assert client.delete(garage.path, headers=garage.owner.headers).status_code == 409
    with app.app_context():
        flag_overdue_sessions()
        send_parking_reminders()


def payouts_journey(app, client, owner, make_user, make_event):
    """A paid order split, the ledger and reports read every way, the transfer lists and the payout sweep."""
    buyer, admin = make_user(), make_user(Role.ADMIN)
    event = make_event(owner, ticket_type={"capacity": 2})
    general = client.get(f"/api/v1/events/{event['id']}/ticket-types").json[0]
    hold = client.post(f"/api/v1/events/{event['id']}/holds", headers=buyer.headers,
                       json={"items": [{"ticket_type_id": general["id"], "quantity": 1}]}).json
    order = client.post("/api/v1/orders", json={"hold_id": hold["id"], "payment_method": "manual"},
                        headers=buyer.headers).json
    assert client.post(f"/api/v1/orders/{order['id']}/mark-paid", headers=owner.headers).status_code == 200
    party = f"organizer:{owner.uid}"
    for query in ({"party_id": party}, {"order_id": order["id"]}, {"party_id": party, "order_id": order["id"]}, {}):
        assert client.get("/api/v1/payouts/ledger", query_string=query, headers=admin.headers).status_code == 200
    assert client.get("/api/v1/payouts/reports", headers=owner.headers).status_code == 200
    assert client.get("/api/v1/payouts/reports", headers=admin.headers).status_code == 200
    for query in ("", "?state=held"):
        assert client.get(f"/api/v1/admin/payouts/transfers{query}", headers=admin.headers).status_code == 200
    assert client.get("/api/v1/payouts/split-rules?kind=ticket", headers=admin.headers).status_code == 200
    with app.app_context():
        send_payouts()
        repair_bookings()


def test_every_query_has_an_index(app, client, make_user, make_venue, make_event, make_ticket_type, make_bar,
                                  make_garage, monkeypatch):
    recorded = []
    stream, aggregate = Query.stream, AggregationQuery.get

    def recording_stream(self, *args, **kwargs):
        recorded.append(self._to_protobuf())
        return stream(self, *args, **kwargs)

    def recording_aggregate(self, *args, **kwargs):
        recorded.append(self._nested_query._to_protobuf())
        return aggregate(self, *args, **kwargs)

    monkeypatch.setattr(Query, "stream", recording_stream)
    monkeypatch.setattr(AggregationQuery, "get", recording_aggregate)
    owner, admin = make_user(Role.ORGANIZER), make_user(Role.ADMIN)
    venue = make_venue(owner)
    event = make_event(owner, venue=venue)
    soon = utcnow() + timedelta(days=1)
    options = {"organizer": owner.uid, "city": "berlin", "category": "music", "q": "jazz night",
               "from": soon.isoformat(), "to": (soon + timedelta(days=90)).isoformat()}
    for used in itertools.product((False, True), repeat=len(options)):
        params = {name: value for (name, value), on in zip(options.items(), used) if on}
        assert client.get(f"/api/v1/events?{urlencode(params)}").status_code == 200
    assert client.get(f"/api/v1/events?status=draft&organizer={owner.uid}", headers=owner.headers).status_code == 200
    assert client.get("/api/v1/events?status=cancelled&limit=1", headers=admin.headers).status_code == 200
    for query in ("", "city=Berlin", "limit=1"):
        assert client.get(f"/api/v1/venues?{query}").status_code == 200
    later = {"starts_at": (event["starts_at"] + timedelta(days=1)).isoformat(),
             "ends_at": (event["ends_at"] + timedelta(days=1)).isoformat()}
    assert client.patch(f"/api/v1/events/{event['id']}", json=later, headers=owner.headers).status_code == 200
    assert client.patch(f"/api/v1/venues/{venue['id']}", json={"city": "Potsdam"},
                        headers=owner.headers).status_code == 200
    assert client.delete(f"/api/v1/venues/{venue['id']}", headers=owner.headers).status_code == 409
    with app.app_context():
        lifecycle.complete_ended_events()
    inventory_journey(app, client, owner, make_user, make_event, make_ticket_type)
    orders_journey(app, client, owner, make_user, make_event)
    checkin_journey(client, owner, make_user, make_event)
    concessions_journey(app, make_bar(seated=True), make_user)
    parking_journey(app, client, make_garage, make_user)
    payouts_journey(app, client, owner, make_user, make_event)
    back_office_journey(app, client, owner, make_user, make_event)

    indexes = json.loads(INDEXES.read_text())["indexes"]
    used = []
    for query in recorded:
        served_by = serving_indexes(query, indexes)
        assert served_by is not None, f"no index serves {shape(query)}"
        used.extend(served_by)
    unused = [index_fields(i) for i in indexes if index_fields(i) not in used]
    assert unused == []
    assert len(recorded) > 64


def test_the_checker_refuses_queries_without_their_index():
    events = [{"collectionGroup": "events", "fields": [{"fieldPath": "status", "order": "ASCENDING"},
                                                      {"fieldPath": "starts_at", "order": "ASCENDING"}]}]
    query = StructuredQuery(
        from_=[StructuredQuery.CollectionSelector(collection_id="events")],
        where=StructuredQuery.Filter(composite_filter=StructuredQuery.CompositeFilter(
            op=StructuredQuery.CompositeFilter.Operator.AND, filters=[
                StructuredQuery.Filter(field_filter=StructuredQuery.FieldFilter(
                    field=StructuredQuery.FieldReference(field_path="status"),
                    op=StructuredQuery.FieldFilter.Operator.EQUAL, value={"string_value": "published"})),
                StructuredQuery.Filter(field_filter=StructuredQuery.FieldFilter(
                    field=StructuredQuery.FieldReference(field_path="city_key"),
                    op=StructuredQuery.FieldFilter.Operator.EQUAL, value={"string_value": "berlin"})),
            ])),
        order_by=[StructuredQuery.Order(field=StructuredQuery.FieldReference(field_path="starts_at"),
                                        direction=StructuredQuery.Direction.ASCENDING)])
    assert serving_indexes(query, events) is None
    events.append({"collectionGroup": "events", "fields": [{"fieldPath": "city_key", "order": "ASCENDING"},
                                                          {"fieldPath": "starts_at", "order": "ASCENDING"}]})
    assert len(serving_indexes(query, events)) == 2
