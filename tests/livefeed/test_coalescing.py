"""A burst of holds becomes a few availability writes, and the last value written is the right one."""
import pytest

from app.firebase import rtdb
from app.checkout import holds
from app.livefeed import service
from tests.factories import race

BURST = 12


@pytest.fixture
def live_config(live_config):
    # Long enough that the whole burst falls into a few intervals even on a slow emulator.
    return {**live_config, "LIVE_FEED_INTERVAL_MS": 2000}


def test_a_burst_of_holds_costs_a_few_availability_writes(app, make_sale, make_user, feed, rtdb_server):
    sale = make_sale(capacity=20)
    buyers = [make_user() for _ in range(BURST)]
    rtdb_server.requests(clear=True)

    responses = race(app, [lambda c, b=b: c.post(f"/api/v1/events/{sale.id}/holds", headers=b.headers, json={
        "items": [{"ticket_type_id": sale.general["id"], "quantity": 1}]}) for b in buyers])
    assert [r.status_code for r in responses] == [201] * BURST
    feed.flush()

    path = "/" + service.availability_path(sale.id)
    assert 1 <= feed.writes(path) <= BURST // 3
    assert feed.availability(sale.id)[sale.general["id"]]["remaining"] == 20 - BURST == sale.remaining()
    for buyer, response in zip(buyers, responses):
        assert feed.hold(buyer.uid, response.json["id"])["state"] == "active"


def test_a_stale_write_from_another_worker_is_corrected_by_the_settle_write(app, make_sale, make_user, feed):
    sale = make_sale(capacity=5)
    sale.hold(make_user(), 2)
    publisher = app.extensions["livefeed"]
    assert publisher.flush()
    # Another worker's write of what it read before this hold landed after ours.
    stale = {"event_id": sale.id, "as_of": "2000-01-01T00:00:00+00:00",
             "ticket_types": [{"ticket_type_id": sale.general["id"], "remaining": 5}]}
    feed.put(service.availability_path(sale.id), stale)

    assert publisher.flush()
    assert feed.availability(sale.id)[sale.general["id"]]["remaining"] == 3


def test_a_late_write_of_an_active_hold_never_undoes_its_release(app, make_sale, make_user, feed):
    sale = make_sale(capacity=5)
    buyer = make_user()
    hold = sale.hold(buyer, 1).json
    sale.release(buyer, hold["id"])
    feed.flush()

    with app.app_context():
        as_placed = {**holds.hold_ref(hold["id"]).get().to_dict(), "state": "active"}
        service.publish_hold(as_placed)
        assert rtdb(service.hold_path(buyer.uid, hold["id"])).get()["state"] == "released"
