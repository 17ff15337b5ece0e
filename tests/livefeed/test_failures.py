"""A failing Realtime Database never fails a buyer; the publisher retries and the scheduler repairs."""
from app.livefeed import service
from app.livefeed.publisher import EXTENSION


def test_buyer_gets_201_while_the_database_fails_and_the_publisher_catches_up(make_sale, make_user, feed,
                                                                               rtdb_server):
    sale = make_sale(capacity=3)
    buyer = make_user()
    rtdb_server.fail(502)

    response = sale.hold(buyer, 1)
    assert response.status_code == 201
    feed.app.extensions[EXTENSION].flush()
    tried = {path for _, path, _ in rtdb_server.requests()}
    assert "/" + service.hold_path(buyer.uid, response.json["id"]) in tried

    rtdb_server.heal()
    assert feed.wait_for(lambda: feed.hold(buyer.uid, response.json["id"]))["state"] == "active"
    assert feed.wait_for(lambda: feed.availability(sale.id))[sale.general["id"]]["remaining"] == 2


def test_the_repair_job_publishes_what_a_stopped_publisher_could_not(app, make_sale, make_user, feed, rtdb_server):
    sale = make_sale(capacity=3)
    buyer = make_user()
    rtdb_server.fail(502)
    hold = sale.hold(buyer, 2).json
    # The worker goes away while the database is down: its last attempt fails and leaves markers.
    app.extensions[EXTENSION].stop()
    rtdb_server.heal()
    assert feed.hold(buyer.uid, hold["id"]) is None

    with app.app_context():
        assert service.repair_live_feed() == 2
    assert feed.hold(buyer.uid, hold["id"])["state"] == "active"
    assert feed.availability(sale.id)[sale.general["id"]]["remaining"] == 1

    rtdb_server.requests(clear=True)
    with app.app_context():
        assert service.repair_live_feed() == 0
    assert rtdb_server.requests() == []


def test_the_repair_job_stops_at_the_first_failure_and_keeps_its_markers(app, make_sale, make_user, feed,
                                                                          rtdb_server):
    sale = make_sale(capacity=3)
    buyer = make_user()
    rtdb_server.fail(502)
    hold = sale.hold(buyer, 1).json
    app.extensions[EXTENSION].stop()

    with app.app_context():
        assert service.repair_live_feed() == 0
    rtdb_server.heal()
    with app.app_context():
        assert service.repair_live_feed() == 2
    assert feed.availability(sale.id)[sale.general["id"]]["remaining"] == 2
    assert feed.hold(buyer.uid, hold["id"])["state"] == "active"


def test_brief_503s_are_absorbed_by_firebase_admins_own_retries(app, make_sale, make_user, feed, rtdb_server):
    sale = make_sale(capacity=3)
    buyer = make_user()
    rtdb_server.fail(503, times=2)

    hold = sale.hold(buyer, 1).json
    feed.flush()
    assert feed.hold(buyer.uid, hold["id"])["state"] == "active"
    with app.app_context():
        assert service.repair_live_feed() == 0
