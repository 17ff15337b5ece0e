"""Factories for every test: venues, events and ticket types made through the services, owned by test users."""
from datetime import timedelta

import pytest

from app.auth import CurrentUser
from app.events import lifecycle
from app.events import service as events
from app.events import ticket_types
from app.timeutil import utcnow
from app.venues import service as venues

SEAT_MAP = {"sections": [
    {"id": "stalls", "name": "Stalls", "rows": [{"label": "A", "seats": ["1", "2", "3"]},
                                                {"label": "B", "seats": ["1", "2"]}]},
    {"id": "balcony", "name": "Balcony", "rows": [{"label": "A", "seats": ["1", "2"]}]},
]}


def current(user):
    return CurrentUser(uid=user.uid, email=user.email, role=user.role)


def venue_data(**overrides):
    return {"name": "Grand Hall", "address": "1 Main Street", "city": "Berlin", "country": "DE",
            "capacity": 500, "seat_map": SEAT_MAP, **overrides}


def event_data(venue_id, **overrides):
    starts = utcnow().replace(microsecond=0) + timedelta(days=30)
    return {"venue_id": venue_id, "title": "Jazz Night", "category": "music", "starts_at": starts,
            "ends_at": starts + timedelta(hours=3), "timezone": "Europe/Berlin",
            "description": "Smooth tunes", **overrides}


def ticket_type_data(**overrides):
    return {"name": "General admission", "price": 2500, "currency": "EUR", "kind": "general_admission",
            "capacity": 100, **overrides}


def iso(moment):
    return moment.isoformat()


@pytest.fixture
def make_venue(app):
    def build(owner, **overrides):
        with app.app_context():
            return venues.create_venue(current(owner), **venue_data(**overrides))

    return build


@pytest.fixture
def make_ticket_type(app):
    def build(owner, event, **overrides):
        with app.app_context():
            return ticket_types.create_ticket_type(event["id"], current(owner), **ticket_type_data(**overrides))

    return build


@pytest.fixture
def make_event(app, make_venue, make_ticket_type):
    """An event with one general-admission ticket type, published unless published=False."""
    def build(owner, *, venue=None, published=True, ticket_type=None, **overrides):
        venue = venue or make_venue(owner)
        with app.app_context():
            event = events.create_event(current(owner), **event_data(venue["id"], **overrides))
        make_ticket_type(owner, event, **(ticket_type or {}))
        if published:
            with app.app_context():
                event = lifecycle.publish_event(event["id"], current(owner))
        return event

    return build
