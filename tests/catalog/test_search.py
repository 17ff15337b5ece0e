"""Public event lists: search, filters, order and cursor pagination."""
import base64
from datetime import timedelta
from urllib.parse import urlencode

import pytest

from app.auth import Role
from app.pagination import encode_cursor
from app.timeutil import utcnow


@pytest.fixture
def catalog(client, make_user, make_venue, make_event):
    a, b = make_user(Role.ORGANIZER), make_user(Role.ORGANIZER)
    berlin, cologne = make_venue(a, name="Grand Hall", city="Berlin"), make_venue(a, name="Dome", city="Köln")
    admitted = client.post(f"/api/v1/venues/{berlin['id']}/organizers", json={"uid": b.uid}, headers=a.headers)
    assert admitted.status_code == 200, admitted.json
    start = utcnow().replace(microsecond=0) + timedelta(days=10)

    def at(days):
        return {"starts_at": start + timedelta(days=days), "ends_at": start + timedelta(days=days, hours=2)}

    events = {
        "night": make_event(a, venue=berlin, title="Jazz Night", **at(0)),
        "session": make_event(a, venue=cologne, title="Late Jazz Session", **at(10)),
        "comedy": make_event(a, venue=berlin, title="Comedy Club", category="comedy", **at(20)),
        "picnic": make_event(b, venue=berlin, title="Jazz Picnic", category="family",
                             description="Bring a blanket", **at(30)),
        "draft": make_event(b, venue=berlin, title="Jazz Secret", published=False, **at(5)),
    }
    return {"a": a, "b": b, "events": events}


def names(catalog, query="", headers=None, client=None):
    response = client.get(f"/api/v1/events?{query}", headers=headers or {})
    assert response.status_code == 200, response.json
    by_id = {e["id"]: name for name, e in catalog["events"].items()}
    return [by_id[e["id"]] for e in response.json["items"]]


def test_search_and_filters(client, catalog):
    a, b = catalog["a"], catalog["b"]
    ev = catalog["events"]

    def found(**params):
        return names(catalog, urlencode(params), client=client)

    assert found() == ["night", "session", "comedy", "picnic"]
    assert found(q="jazz") == ["night", "session", "picnic"]
    assert found(q="JAZ") == ["night", "session", "picnic"]
    assert found(q="nigh jazz") == ["night"]
    assert found(q="blanket") == ["picnic"]
    assert found(q="grand") == ["night", "comedy", "picnic"]
    assert found(q="opera") == []
    assert found(city="köln") == ["session"]
    assert found(city="BERLIN") == ["night", "comedy", "picnic"]
    assert found(category="music") == ["night", "session"]
    assert found(organizer=b.uid) == ["picnic"]
    assert found(q="jazz", city="berlin", organizer=a.uid) == ["night"]
    session_start, comedy_start = ev["session"]["starts_at"], ev["comedy"]["starts_at"]
    assert found(**{"from": session_start.isoformat(), "to": comedy_start.isoformat()}) == ["session"]
    assert found(**{"from": (session_start - timedelta(days=1)).isoformat(),
                    "to": (comedy_start + timedelta(seconds=1)).isoformat()}) == ["session", "comedy"]
    assert found(**{"from": comedy_start.isoformat(), "category": "comedy"}) == ["comedy"]


def test_drafts_are_listed_for_their_organizer_only(client, catalog):
    a, b = catalog["a"], catalog["b"]
    assert names(catalog, f"status=draft&organizer={b.uid}", b.headers, client) == ["draft"]
    assert client.get(f"/api/v1/events?status=draft&organizer={b.uid}", headers=a.headers).status_code == 403
    assert client.get("/api/v1/events?status=draft", headers=b.headers).status_code == 403
    assert names(catalog, f"status=draft&organizer={a.uid}", a.headers, client) == []


def pages(client, query):
    seen, cursor = [], None
    while True:
        response = client.get(f"/api/v1/events?{query}" + (f"&cursor={cursor}" if cursor else ""))
        assert response.status_code == 200, response.json
        seen.append([e["title"] for e in response.json["items"]])
        cursor = response.json["next_cursor"]
        if cursor is None:
            return seen


def test_pagination_edges(client, catalog):
    assert pages(client, "limit=2") == [["Jazz Night", "Late Jazz Session"], ["Comedy Club", "Jazz Picnic"]]
    assert pages(client, "limit=4") == [["Jazz Night", "Late Jazz Session", "Comedy Club", "Jazz Picnic"]]
    assert pages(client, "limit=3") == [["Jazz Night", "Late Jazz Session", "Comedy Club"], ["Jazz Picnic"]]
    assert pages(client, "limit=5") == [["Jazz Night", "Late Jazz Session", "Comedy Club", "Jazz Picnic"]]
    assert pages(client, "q=opera") == [[]]
    assert pages(client, "q=jaz+picnic&limit=1") == [["Jazz Picnic"]]
    assert pages(client, "q=jaz+a&limit=1") == [["Jazz Night"], ["Late Jazz Session"], ["Jazz Picnic"]]


def test_pagination_is_stable_when_start_times_tie(client, make_user, make_venue, make_event):
    owner = make_user(Role.ORGANIZER)
    venue = make_venue(owner)
    start = utcnow().replace(microsecond=0) + timedelta(days=3)
    created = {make_event(owner, venue=venue, title=f"Tie {n}", starts_at=start,
                          ends_at=start + timedelta(hours=1))["title"] for n in range(3)}
    seen = pages(client, "limit=1")
    assert [len(page) for page in seen] == [1, 1, 1]
    assert {page[0] for page in seen} == created


def test_list_of_nothing_is_empty(client):
    assert client.get("/api/v1/events").json == {"items": [], "next_cursor": None}
    assert client.get("/api/v1/venues").json == {"items": [], "next_cursor": None}


@pytest.mark.parametrize("cursor", [
    "garbage!",
    base64.urlsafe_b64encode(b"not json").decode(),
    base64.urlsafe_b64encode(b'{"a": 1}').decode(),
    base64.urlsafe_b64encode(b'["Grand Hall", "abc"]').decode(),
    base64.urlsafe_b64encode(b'[{"t": "yesterday"}, "abc"]').decode(),
    base64.urlsafe_b64encode(b'[{"t": "2030-01-01T00:00:00"}, "abc"]').decode(),
])
def test_bad_cursor_is_400(client, cursor):
    response = client.get(f"/api/v1/events?cursor={cursor}")
    assert (response.status_code, response.json["error"]["code"]) == (400, "invalid_cursor")


@pytest.mark.parametrize("query, field", [
    ("limit=0", "limit"), ("limit=101", "limit"), ("category=opera-ish", "category"), ("q=x", "q"),
    ("from=tomorrow", "from"), ("from=2030-01-02T00:00:00Z&to=2030-01-01T00:00:00Z", "to"),
    ("status=archived", "status"), ("colour=red", "colour"),
])
def test_bad_list_arguments_are_422(client, query, field):
    response = client.get(f"/api/v1/events?{query}")
    assert response.status_code == 422, response.json
    assert field in response.json["error"]["details"]["fields"]


def test_venue_pages(client, make_user, make_venue):
    owner = make_user(Role.ORGANIZER)
    for name in ("Cellar", "attic", "Barn"):
        make_venue(owner, name=name)
    first = client.get("/api/v1/venues?limit=2").json
    assert [v["name"] for v in first["items"]] == ["attic", "Barn"]
    second = client.get(f"/api/v1/venues?limit=2&cursor={first['next_cursor']}").json
    assert ([v["name"] for v in second["items"]], second["next_cursor"]) == (["Cellar"], None)
    event_cursor = encode_cursor([utcnow(), "abc"])
    response = client.get(f"/api/v1/venues?cursor={event_cursor}")
    assert (response.status_code, response.json["error"]["code"]) == (400, "invalid_cursor")
