"""Every Firestore query the catalog runs is served by firestore.indexes.json.

The emulator serves any query without indexes, so this test records the
queries the code really sends (every list filter combination, and the internal
look-ups behind deleting, renaming, publishing and completing) and checks each
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

from google.cloud.firestore_v1.query import Query
from google.cloud.firestore_v1.types import StructuredQuery

from app.auth import Role
from app.events import lifecycle
from app.timeutil import utcnow

INDEXES = Path(__file__).resolve().parents[2] / "firestore.indexes.json"
EQUALITY = {StructuredQuery.FieldFilter.Operator.EQUAL: "ASCENDING",
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


def test_every_catalog_query_has_an_index(app, client, make_user, make_venue, make_event, monkeypatch):
    recorded = []
    stream = Query.stream

    def recording_stream(self, *args, **kwargs):
        recorded.append(self._to_protobuf())
        return stream(self, *args, **kwargs)

    monkeypatch.setattr(Query, "stream", recording_stream)
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
