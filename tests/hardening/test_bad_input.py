"""A catalogue of hostile input, sent as an admin so that no role check is what refuses it.

Operations, their bodies and their parameters come from the app's own OpenAPI
document, so a new endpoint is covered the day it is documented. Every request
must get a 4xx in the one error shape (a 500 is a bug), and Firestore and Auth
must hold exactly what they held before (compared document by document).
"""
import base64
import json
import re

import pytest

HOSTILE_IDS = ["..", ".", "__name__", "__x__", "a" * 1600, "%00", "%2e%2e", "a%2Fb", "..%2F..%2Fusers",
               "%ED%A0%80", "a%20b", "%E2%80%AE", "$where", "*"]
BAD_CURSORS = ["x", "!!!!", "%00", "a" * 1001, base64.urlsafe_b64encode(b"\xff\xfe").decode()]
BAD_CURSOR_PAYLOADS = [[], {}, "x", None, [1, 2, 3, 4, 5], [{"t": "not a date"}, "id"],
                       [{"t": "2030-01-01T00:00:00"}, "id"],
                       [{"t": "2030-01-01T00:00:00+00:00"}, 7], [{"t": "2030-01-01T00:00:00+00:00"}, "a/b"],
                       [{"t": "2030-01-01T00:00:00+00:00"}, ".."], [{"t": "2030-01-01T00:00:00+00:00"}, ""],
                       [{"t": "2030-01-01T00:00:00+00:00"}, "__x__"], [{"t": "2030-01-01T00:00:00+00:00"}, "\ud800"],
                       ["Grand", "a/b"], ["Grand", "__x__"], ["\ud800", "id"], [True, "id"], ["a", "b" * 2000]]
BAD_INTEGERS = [-1, -(2 ** 63) - 1, 2 ** 63, 10 ** 30, 1.5, 1e308, True, "1", None]
SEARCHES = ["\x00", "\x00\x00\x00", "ab\x00cd", "x" * 5000, ".*", "(((", "[a-", "\\", "%", "' OR '1'='1", "'; --",
            '{"$gt": ""}', "$where", "../../etc", "%ED%A0%80ab", "<script>alert(1)</script>", "ja" * 60]
ERROR_CODE = re.compile(r"^[a-z][a-z0-9_]*$")


def cursor_of(payload):
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


@pytest.fixture
def api(world, snapshot):
    """The documented operations, with real ids in their paths; fails the test if any request changed state."""
    spec = world.client.get("/api/v1/openapi.json").json
    if "/api/v1/parking-lots/{lot_id}/sessions" in spec["paths"]:
        world.lot()  # a real lot, so its lists get as far as reading their cursors
    before = snapshot()
    yield Api(world, spec)
    after = snapshot()
    assert {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)} == set()


class Api:
    def __init__(self, world, spec):
        self.world, self.spec = world, spec
        self.ids = {name: values[0] for name, values in world.ids().items() if values}
        self.admin = world.headers("admin")

    def operations(self):
        for path, methods in self.spec["paths"].items():
            for method, operation in methods.items():
                if method != "parameters":
                    yield method.upper(), path, operation

    def resolve(self, schema):
        while "$ref" in schema:
            schema = self.spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
        return schema

    def body_schema(self, operation):
        content = operation.get("requestBody", {}).get("content", {}).get("application/json")
        return self.resolve(content["schema"]) if content else None

    def concrete(self, path, **overrides):
        return re.sub(r"\{(\w+)\}", lambda m: overrides.get(m[1], self.ids.get(m[1], "no-such-id")), path)

    def send(self, method, path, **kwargs):
        headers = {**self.admin, **kwargs.pop("headers", {})}
        return self.world.client.open(path, method=method, headers=headers, **kwargs)


def assert_error(response, *statuses, field=None, context=""):
    assert response.status_code in statuses, (context, response.status_code, response.data[:300])
    assert response.mimetype == "application/json", context
    error = response.json["error"]
    assert ERROR_CODE.match(error["code"]) and error["message"] and error["request_id"], (context, error)
    if field is not None:
        assert field in error["details"].get("fields", {}), (context, field, error)
    return error


def test_bodies_that_are_not_json_objects(api):
    limit = api.world.app.config["MAX_CONTENT_LENGTH"]
    oversized = json.dumps({"name": "x" * limit})
    kinds = {
        "malformed": ('{"name": ', "application/json", 400, "bad_request"),
        "not utf-8": (b'{"name": "\xff\xfe"}', "application/json", 400, "bad_request"),
        "array": ("[]", "application/json", 422, "validation_error"),
        "scalar": ('"venue"', "application/json", 422, "validation_error"),
        "null": ("null", "application/json", 422, "validation_error"),
        "plain text": ('{"name": "x"}', "text/plain", 415, "unsupported_media_type"),
        "form": ("name=x", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
        "xml": ("<name>x</name>", "application/xml", 415, "unsupported_media_type"),
        "over the limit": (oversized, "application/json", 413, "payload_too_large"),
    }
    checked = 0
    for method, path, operation in api.operations():
        if api.body_schema(operation) is None:
            continue
        for kind, (data, content_type, status, code) in kinds.items():
            if method == "DELETE" and status == 415:
                continue  # test_delete_bodies_must_be_json
            response = api.send(method, api.concrete(path), data=data, headers={"Content-Type": content_type})
            error = assert_error(response, status, context=f"{method} {path}: {kind}")
            assert error["code"] == code, (method, path, kind, error)
            checked += 1
    assert checked >= 9 * 15


def test_delete_bodies_must_be_json(api):
    response = api.send("DELETE", f"/api/v1/venues/{api.ids['venue_id']}/staff", data='{"uid": "x"}',
                        headers={"Content-Type": "text/plain"})
    assert_error(response, 415)


def test_deeply_nested_json_is_refused(api):
    response = api.send("POST", "/api/v1/venues", data="[" * 100_000, headers={"Content-Type": "application/json"})
    assert_error(response, 400, 422)


def test_lone_surrogates_in_strings_are_refused(api):
    body = '{"name": "\\ud800", "address": "1 Main Street", "city": "Berlin", "country": "DE", "capacity": 5}'
    response = api.send("POST", "/api/v1/venues", data=body, headers={"Content-Type": "application/json"})
    assert_error(response, 400, 422)


def test_out_of_range_numbers_and_huge_strings_name_their_field(api):
    """Each top-level integer and string of every documented body, made hostile on its own."""
    checked = 0
    for method, path, operation in api.operations():
        schema = api.body_schema(operation)
        if schema is None:
            continue
        for name, prop in schema.get("properties", {}).items():
            prop = api.resolve(prop)
            if prop.get("type") == "integer":
                values = [v for v in BAD_INTEGERS if not (v is None and prop.get("nullable"))]
            elif prop.get("type") == "string" and prop.get("format") is None:
                values = ["x" * 900_000, 42, ["x"], {"x": 1}]
            else:
                continue
            for value in values:
                response = api.send(method, api.concrete(path), json={name: value})
                assert_error(response, 422, field=name, context=f"{method} {path} {name}={str(value)[:20]}")
                checked += 1
    for raw in ("NaN", "Infinity", "-Infinity", "1e999"):
        response = api.send("POST", f"/api/v1/events/{api.ids['event_id']}/ticket-types",
                            data=f'{{"price": {raw}}}', headers={"Content-Type": "application/json"})
        assert_error(response, 400, 422, context=raw)
    assert checked >= 100


def test_hold_quantities_out_of_range(api):
    path = f"/api/v1/events/{api.ids['event_id']}/holds"
    for quantity in [0, -1, 2 ** 63, 10 ** 30, 1.5, "1", True, None]:
        items = [{"ticket_type_id": api.ids["ticket_type_id"], "quantity": quantity}]
        assert_error(api.send("POST", path, json={"items": items}), 422, field="items", context=str(quantity))
    many = [{"ticket_type_id": api.ids["ticket_type_id"], "quantity": 1}] * 1000
    assert_error(api.send("POST", path, json={"items": many}), 422, field="items")


def test_hostile_ids_in_every_path(api):
    """Slashes, dots, Firestore's reserved names, percent-encodings and oversized ids: never found, never a crash."""
    checked = 0
    for method, path, operation in api.operations():
        for name in re.findall(r"\{(\w+)\}", path):
            for hostile in HOSTILE_IDS:
                url = api.concrete(path, **{name: hostile})
                body = {} if api.body_schema(operation) is not None else None
                response = api.send(method, url, json=body)
                assert_error(response, 400, 404, 405, 422, context=f"{method} {url[:120]}")
                checked += 1
    assert checked >= 100


def test_hostile_query_strings_on_every_list(api):
    checked = 0
    for method, path, operation in api.operations():
        params = [p for p in operation.get("parameters", []) if p["in"] == "query"]
        for param in params:
            schema = api.resolve(param.get("schema", {}))
            values = ["x" * 5000, "\x00", "%ED%A0%80"] + (["-1", "1e999", "99999999999999999999", "abc"]
                                                         if schema.get("type") == "integer" else [])
            for value in values:
                response = api.send(method, api.concrete(path), query_string={param["name"]: value})
                context = f"{method} {path}?{param['name']}={value[:20]}"
                if response.status_code == 200:
                    assert isinstance(response.json.get("items"), list), context
                else:
                    assert_error(response, 400, 404, 422, context=context)
                checked += 1
    assert checked >= 30


def test_search_strings_built_to_break_queries_match_nothing(api):
    control = api.send("GET", "/api/v1/events", query_string={"q": "jazz"})
    assert [e["id"] for e in control.json["items"]] == [api.world.event["id"]]
    for q in SEARCHES:
        response = api.send("GET", "/api/v1/events", query_string={"q": q})
        if response.status_code == 200:
            assert response.json["items"] == [], q
        else:
            assert_error(response, 422, field="q", context=repr(q))


def test_bad_cursors_on_every_paginated_list(api):
    cursors = BAD_CURSORS + [cursor_of(payload) for payload in BAD_CURSOR_PAYLOADS]
    lists = [(method, path) for method, path, operation in api.operations()
             if any(p["name"] == "cursor" and p["in"] == "query" for p in operation.get("parameters", []))]
    assert len(lists) >= 2
    for method, path in lists:
        for cursor in cursors:
            response = api.send(method, api.concrete(path), query_string={"cursor": cursor})
            error = assert_error(response, 400, 422, context=f"{method} {path} cursor={cursor[:40]}")
            assert error["code"] in {"invalid_cursor", "validation_error"}, error
