"""What the live feed shows after each kind of change, as a mobile app reading the database would see it."""
import threading
from datetime import timedelta

import time_machine

from app.events import lifecycle
from app.checkout import service as checkout
from app.livefeed.publisher import EXTENSION
from app.timeutil import utcnow

FIELDS = ("id", "state", "expires_at", "items", "total", "currency", "event_id")


def without_nulls(value):
    """The Realtime Database stores no nulls: a null field is an absent one."""
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


def test_a_placed_hold_is_published_to_its_buyer_and_to_the_event(make_sale, make_user, feed):
    sale = make_sale(capacity=3)
    buyer = make_user()
    response = sale.hold(buyer, 2)
    assert response.status_code == 201
    hold = response.json

    feed.flush()
    entry = feed.hold(buyer.uid, hold["id"])
    assert {k: entry[k] for k in FIELDS} == without_nulls({k: hold[k] for k in FIELDS})
    assert entry["state"] == "active"
    assert entry["expires_at_ms"] == int(utcnow().fromisoformat(hold["expires_at"]).timestamp() * 1000)
    assert "buyer_uid" not in entry
    published = feed.availability(sale.id)
    assert published[sale.general["id"]]["remaining"] == 1 == sale.remaining()
    assert published == sale.availability()


def test_a_released_hold_is_published_and_its_units_are_free_again(make_sale, make_user, feed):
    sale = make_sale(capacity=3)
    buyer = make_user()
    hold = sale.hold(buyer, 3).json
    assert sale.release(buyer, hold["id"]).status_code == 200

    feed.flush()
    assert feed.hold(buyer.uid, hold["id"])["state"] == "released"
    assert feed.availability(sale.id)[sale.general["id"]]["remaining"] == 3


def test_an_expired_hold_is_published_when_the_sweeper_ends_it(app, make_sale, make_user, feed):
    sale = make_sale(capacity=2)
    buyer = make_user()
    hold = sale.hold(buyer, 2).json
    feed.flush()
    assert feed.availability(sale.id)[sale.general["id"]]["remaining"] == 0

    with time_machine.travel(utcnow() + timedelta(seconds=app.config["HOLD_TTL_SECONDS"] + 5)):
        with app.app_context():
            assert checkout.expire_holds() == 1
        feed.flush()
        assert feed.hold(buyer.uid, hold["id"])["state"] == "expired"
        assert feed.availability(sale.id)[sale.general["id"]]["remaining"] == 2


def test_completing_and_cancelling_an_event_are_published(app, make_sale, make_user, feed):
    ended, called_off = make_sale(capacity=2), make_sale(capacity=2)
    assert ended.hold(make_user(), 1).status_code == 201
    assert called_off.hold(make_user(), 1).status_code == 201
    feed.flush()
    assert feed.get(f"live/events/{ended.id}/availability")["event_status"] == "published"

    response = app.test_client().post(f"/api/v1/events/{called_off.id}/cancel", headers=called_off.owner.headers)
    assert response.status_code == 200
    with time_machine.travel(utcnow() + timedelta(days=31)):
        with app.app_context():
            assert lifecycle.complete_ended_events() == 1
    feed.flush()
    assert feed.get(f"live/events/{ended.id}/availability")["event_status"] == "completed"
    assert feed.get(f"live/events/{called_off.id}/availability")["event_status"] == "cancelled"


def test_seat_states_are_published(make_sale, make_user, feed):
    sale = make_sale(capacity=3, seated=True)
    buyer = make_user()
    assert sale.hold(buyer, seats=["stalls:A:2"]).status_code == 201

    feed.flush()
    seats = {s["id"]: s["state"] for s in feed.availability(sale.id)[sale.seated["id"]]["seats"]}
    assert seats["stalls:A:2"] == "held"
    assert seats["stalls:A:1"] == "available"
    assert feed.availability(sale.id)[sale.seated["id"]]["remaining"] == len(seats) - 1


def test_without_a_database_url_there_is_no_publisher_and_no_thread(make_app, client, make_sale, make_user):
    plain = make_app()
    sale = make_sale(capacity=2)
    before = {t.ident for t in threading.enumerate() if t.name == "livefeed-publisher"}
    with plain.test_client() as plain_client:
        sale.client = plain_client
        assert sale.hold(make_user(), 1).status_code == 201
    assert EXTENSION not in plain.extensions
    assert {t.ident for t in threading.enumerate() if t.name == "livefeed-publisher"} == before
