"""Every time and every cursor the API accepts, as Hypothesis properties, found in the app's own OpenAPI document.

Times: an ISO 8601 time with any offset, from the first day of the calendar to its last, is either taken
(and then read back as the same instant) or refused with a 4xx; one that falls outside the years 1 to 9999
once put in UTC is always a 422 naming its field. Cursors: any text, and any well-formed cursor carrying
hostile values (times at the calendar's ends, ids Firestore cannot hold, lone surrogates), answers 200 or
a 400 / 422, never a 5xx. Each time field, time parameter and cursor parameter in the document needs a row
below; one without fails ``test_every_time_and_cursor_input_has_a_row`` by name.
"""
import base64
import itertools
import json
from collections import Counter
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import hypothesis.strategies as st
from hypothesis import HealthCheck, example, given, settings

from tests.factories import event_data, ticket_type_data
from tests.hardening.inputs import documented_inputs
from tests.hardening.strategies import HOSTILE_IDS, LOCAL_TIMES, TIMES, fits_utc

TIME_EXAMPLES = 12
CURSOR_EXAMPLES = 30
_serial = itertools.count(1)


# --- how each time input is sent: (world, text) -> (method, path, json body, role) -----------------------------

def query(path, name, role="anonymous"):
    return lambda w, text: ("GET", f"{path}?{name}={quote(text)}", None, role)


def new_event(field):
    def send(w, text):
        body = {**event_data(w.venue["id"]), field: text}
        return "POST", "/api/v1/events", {k: v.isoformat() if isinstance(v, datetime) else v
                                          for k, v in body.items()}, "owner"
    return send


def draft_patch(field):
    return lambda w, text: ("PATCH", f"/api/v1/events/{w.draft['id']}", {field: text}, "owner")


def new_ticket_type(field):
    return lambda w, text: ("POST", f"/api/v1/events/{w.draft['id']}/ticket-types",
                            {**ticket_type_data(), field: text}, "owner")


def draft_ticket_type_patch(field):
    def send(w, text):
        ticket_type = w.client.get(f"/api/v1/events/{w.draft['id']}/ticket-types", headers=w.owner.headers).json[0]
        return "PATCH", f"/api/v1/events/{w.draft['id']}/ticket-types/{ticket_type['id']}", {field: text}, "owner"
    return send


def new_discount(field):
    return lambda w, text: ("POST", f"/api/v1/events/{w.event['id']}/discounts", {
        "code": f"TIMES{next(_serial):05d}", "kind": "percent", "percent_off": 10, field: text}, "owner")


def discount_patch(field):
    return lambda w, text: ("PATCH", f"/api/v1/events/{w.event['id']}/discounts/{w.discount()['code']}",
                            {field: text}, "owner")


def offline_scan(w, text):
    return "POST", f"/api/v1/events/{w.event['id']}/checkins/offline", {"scans": [{
        "code": w.ticket_code(), "nonce": f"times-{next(_serial):08d}", "scanned_at": text}]}, "venue_staff"


def lot_window(endpoint, name, role="anonymous"):
    """A lot's window with ``name`` sent and its other end an hour from now, so only the sent time can be wrong."""
    other = {"from": "to", "to": "from"}[name]

    def send(w, text):
        fixed = (datetime.now(timezone.utc) + timedelta(hours=1)).replace(microsecond=0).isoformat()
        return ("GET", f"/api/v1/parking-lots/{w.lot()['id']}/{endpoint}?{name}={quote(text)}&{other}={quote(fixed)}",
                None, role)
    return send


TIME_INPUTS = {
    "GET /api/v1/events query from": query("/api/v1/events", "from"),
    "GET /api/v1/events query to": query("/api/v1/events", "to"),
    "POST /api/v1/events body starts_at": new_event("starts_at"),
    "POST /api/v1/events body ends_at": new_event("ends_at"),
    "PATCH /api/v1/events/{event_id} body starts_at": draft_patch("starts_at"),
    "PATCH /api/v1/events/{event_id} body ends_at": draft_patch("ends_at"),
    "POST /api/v1/events/{event_id}/ticket-types body sales_starts_at": new_ticket_type("sales_starts_at"),
    "POST /api/v1/events/{event_id}/ticket-types body sales_ends_at": new_ticket_type("sales_ends_at"),
    "PATCH /api/v1/events/{event_id}/ticket-types/{ticket_type_id} body sales_starts_at":
        draft_ticket_type_patch("sales_starts_at"),
    "PATCH /api/v1/events/{event_id}/ticket-types/{ticket_type_id} body sales_ends_at":
        draft_ticket_type_patch("sales_ends_at"),
    "POST /api/v1/events/{event_id}/discounts body valid_from": new_discount("valid_from"),
    "POST /api/v1/events/{event_id}/discounts body valid_until": new_discount("valid_until"),
    "PATCH /api/v1/events/{event_id}/discounts/{code} body valid_from": discount_patch("valid_from"),
    "PATCH /api/v1/events/{event_id}/discounts/{code} body valid_until": discount_patch("valid_until"),
    "POST /api/v1/events/{event_id}/checkins/offline body scans[].scanned_at": offline_scan,
    "GET /api/v1/parking-lots/{lot_id}/availability query from": lot_window("availability", "from"),
    "GET /api/v1/parking-lots/{lot_id}/availability query to": lot_window("availability", "to"),
    "GET /api/v1/parking-lots/{lot_id}/quote query from": lot_window("quote", "from"),
    "GET /api/v1/parking-lots/{lot_id}/quote query to": lot_window("quote", "to"),
    "GET /api/v1/parking-lots/{lot_id}/stats query from": lot_window("stats", "from", "owner"),
    "GET /api/v1/parking-lots/{lot_id}/stats query to": lot_window("stats", "to", "owner"),
    "GET /api/v1/payouts/reports query from": query("/api/v1/payouts/reports", "from", "admin"),
    "GET /api/v1/payouts/reports query to": query("/api/v1/payouts/reports", "to", "admin"),
    "GET /api/v1/payouts/reports.csv query from": query("/api/v1/payouts/reports.csv", "from", "admin"),
    "GET /api/v1/payouts/reports.csv query to": query("/api/v1/payouts/reports.csv", "to", "admin"),
    "GET /api/v1/orders query from": query("/api/v1/orders", "from", "admin"),
    "GET /api/v1/orders query to": query("/api/v1/orders", "to", "admin"),
    "GET /api/v1/admin/audit query from": query("/api/v1/admin/audit", "from", "admin"),
    "GET /api/v1/admin/audit query to": query("/api/v1/admin/audit", "to", "admin"),
}

# Who reads each list: its cursor gets past the role gate.
CURSOR_INPUTS = {
    "GET /api/v1/venues query cursor": ("/api/v1/venues", "cursor", "anonymous"),
    "GET /api/v1/events query cursor": ("/api/v1/events", "cursor", "anonymous"),
    "GET /api/v1/orders query cursor": ("/api/v1/orders", "cursor", "buyer"),
    "GET /api/v1/tickets query cursor": ("/api/v1/tickets", "cursor", "buyer"),
    "GET /api/v1/admin/audit query cursor": ("/api/v1/admin/audit", "cursor", "admin"),
    "GET /api/v1/admin/notifications query cursor": ("/api/v1/admin/notifications", "cursor", "admin"),
    "GET /api/v1/admin/refunds query cursor": ("/api/v1/admin/refunds", "cursor", "admin"),
    "GET /api/v1/events/{event_id}/checkin-sync query since": ("/api/v1/events/{event_id}/checkin-sync", "since",
                                                               "venue_staff"),
    "GET /api/v1/venues/{venue_id}/stands query cursor": ("/api/v1/venues/{venue_id}/stands", "cursor", "anonymous"),
    "GET /api/v1/events/{event_id}/stands query cursor": ("/api/v1/events/{event_id}/stands", "cursor", "anonymous"),
    "GET /api/v1/stands/{stand_id}/queue query cursor": ("/api/v1/stands/{stand_id}/queue", "cursor", "venue_staff"),
    "GET /api/v1/venues/{venue_id}/parking-lots query cursor": ("/api/v1/venues/{venue_id}/parking-lots", "cursor",
                                                                "anonymous"),
    "GET /api/v1/parking-lots/{lot_id}/sessions query cursor": ("/api/v1/parking-lots/{lot_id}/sessions", "cursor",
                                                                "venue_staff"),
    "GET /api/v1/parking-passes query cursor": ("/api/v1/parking-passes", "cursor", "buyer"),
    "GET /api/v1/payouts/ledger query cursor": ("/api/v1/payouts/ledger", "cursor", "admin"),
    "GET /api/v1/payouts/split-rules query cursor": ("/api/v1/payouts/split-rules", "cursor", "admin"),
    "GET /api/v1/admin/payouts/transfers query cursor": ("/api/v1/admin/payouts/transfers", "cursor", "admin"),
}


def test_every_time_and_cursor_input_has_a_row(client):
    inputs = documented_inputs(client)
    for kind, table in (("time", TIME_INPUTS), ("cursor", CURSOR_INPUTS)):
        documented = {label for label, found in inputs.items() if found == kind}
        assert not documented - table.keys(), f"{kind} inputs without a row: {sorted(documented - table.keys())}"
        assert not table.keys() - documented, f"rows for {kind} inputs the API lost: {sorted(table.keys() - documented)}"


def _stats(fuzz_stats, name, documented):
    return fuzz_stats.setdefault(name, {"cases": 0, "operations": set(), "documented": documented,
                                        "statuses": Counter()})


def _record(stats, label, status):
    stats["cases"] += 1
    stats["operations"].add(label)
    stats["statuses"][status] += 1


def _same_instant(sent, answered):
    return datetime.fromisoformat(answered) == sent


def _answered_time(body, field):
    """The time the answer shows for the field that was sent, if it shows one."""
    if not isinstance(body, dict):
        return None
    if field == "scans[].scanned_at":
        return body["results"][0]["scanned_at"]
    return body.get(field)


def test_every_time_is_stored_as_sent_or_refused(world, fuzz_stats):
    world.seed_purchases()
    stats = _stats(fuzz_stats, "hypothesis times", len(TIME_INPUTS))
    failures = []
    for label, send in TIME_INPUTS.items():
        field = label.rsplit(" ", 1)[1]

        @settings(max_examples=TIME_EXAMPLES, derandomize=True, database=None, deadline=None,
                  suppress_health_check=list(HealthCheck))
        @given(moment=TIMES)
        @example(moment=datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-10))))
        @example(moment=datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1))))
        def check(moment):
            method, path, body, role = send(world, moment.isoformat())
            response = world.client.open(path, method=method, json=body, headers=world.headers(role))
            _record(stats, label, response.status_code)
            assert response.status_code < 500, response.json
            if not fits_utc(moment):
                assert response.status_code == 422, response.json
                assert field.rsplit(".", 1)[-1] in json.dumps(response.json["error"]["details"]), response.json
            elif response.status_code < 300 and (answered := _answered_time(response.json, field)):
                assert _same_instant(moment, answered), (moment, answered)

        try:
            check()
        except AssertionError as exc:  # every input runs; failures are reported together
            failures.append(f"{label}: {exc}")
    assert not failures, "\n\n".join(failures)


TIME_TEXTS = st.one_of(TIMES.map(datetime.isoformat), LOCAL_TIMES.map(datetime.isoformat), st.text(max_size=40))
JSON_VALUES = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                                     HOSTILE_IDS),
                           lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                   st.dictionaries(st.text(max_size=3), inner, max_size=3)),
                           max_leaves=8)
SORT_VALUES = st.one_of(st.fixed_dictionaries({"t": TIME_TEXTS}), HOSTILE_IDS)
# A page's cursor is its last item's sort value and id; the same shape with hostile values, and any other shape.
PAGE_CURSORS = st.one_of(st.tuples(SORT_VALUES, HOSTILE_IDS).map(list),
                         st.lists(st.one_of(SORT_VALUES, JSON_VALUES), max_size=4))
FEED = st.tuples(st.one_of(st.none(), TIME_TEXTS), st.one_of(st.none(), HOSTILE_IDS), st.booleans()).map(list)
SYNC_CURSORS = st.fixed_dictionaries({"h": st.one_of(st.none(), TIME_TEXTS), "tickets": FEED, "checkins": FEED})


def encode(payload):
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


CURSORS = st.one_of(st.text(min_size=1, max_size=200), st.one_of(PAGE_CURSORS, SYNC_CURSORS, JSON_VALUES).map(encode))


def test_every_cursor_is_read_or_refused(world, fuzz_stats):
    stats = _stats(fuzz_stats, "hypothesis cursors", len(CURSOR_INPUTS))
    failures = []
    for label, (path, name, role) in CURSOR_INPUTS.items():
        path = path.format(event_id=world.event["id"], venue_id=world.venue["id"], stand_id=world.stand()["id"],
                           lot_id=world.lot()["id"])
        # The queue is one event's: the cursor goes with the event it pages through.
        query = {"event_id": world.event["id"]} if "{stand_id}" in label else {}

        @settings(max_examples=CURSOR_EXAMPLES, derandomize=True, database=None, deadline=None,
                  suppress_health_check=list(HealthCheck))
        @given(cursor=CURSORS)
        @example(cursor=encode([{"t": "9999-12-31T23:00:00-10:00"}, "some-id"]))
        def check(cursor):
            response = world.client.get(path, query_string={**query, name: cursor}, headers=world.headers(role))
            _record(stats, label, response.status_code)
            assert response.status_code in (200, 400, 422), (cursor, response.status_code, response.json)
            if response.status_code == 400:
                assert response.json["error"]["code"] == "invalid_cursor", response.json

        try:
            check()
        except AssertionError as exc:
            failures.append(f"{label}: {exc}")
    assert not failures, "\n\n".join(failures)
