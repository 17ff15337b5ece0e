"""A buyer's stand orders and each stand's queue count in the live feed, as a mobile app reads them."""
from app.livefeed import service


def test_a_buyer_watches_their_stand_order_move_and_the_stand_its_queue(make_bar, make_user, feed):
    bar = make_bar()
    buyer = make_user()
    order = bar.paid(buyer, bar.burger(2))
    [stand_order] = bar.stand_orders(buyer, order["id"])
    path = service.stand_order_path({**stand_order, "buyer_uid": buyer.uid})
    queue = service.stand_queue_path(bar.id, bar.shop.id)
    assert path == f"live/users/{buyer.uid}/orders/{order['id']}/stands/{bar.id}"
    feed.flush()
    entry = feed.get(path)
    assert (entry["id"], entry["state"], entry["pickup_code"]) == (stand_order["id"], "received",
                                                                   stand_order["pickup_code"])
    assert "buyer_uid" not in entry
    assert {k: feed.get(queue)[k] for k in ("received", "preparing", "ready")} == {
        "received": 1, "preparing": 0, "ready": 0}

    bar.move(bar.staff, stand_order["id"], "preparing")
    bar.move(bar.staff, stand_order["id"], "ready")
    feed.flush()
    assert feed.get(path)["state"] == "ready"
    assert {k: feed.get(queue)[k] for k in ("received", "preparing", "ready")} == {
        "received": 0, "preparing": 0, "ready": 1}

    bar.redeem(bar.staff, code=stand_order["pickup_code"])
    feed.flush()
    assert feed.get(path)["state"] == "completed"
    assert feed.get(queue)["ready"] == 0


def test_an_older_write_of_a_stand_order_never_wins(app, make_bar, make_user, feed):
    bar = make_bar()
    buyer = make_user()
    [stand_order] = bar.stand_orders(buyer, bar.paid(buyer, bar.burger())["id"])
    bar.move(bar.staff, stand_order["id"], "preparing")
    feed.flush()
    path = service.stand_order_path({**stand_order, "buyer_uid": buyer.uid})
    published = feed.get(path)
    # Another worker already published a later change (ready); this worker's read of "preparing" lands after it.
    later = {**published, "state": "ready", "updated_at_ms": published["updated_at_ms"] + 1000}
    feed.put(path, later)
    with app.app_context():
        service.publish_stand_order(stand_order["id"])
    assert feed.get(path) == later
    # An entry older than what Firestore holds is replaced.
    feed.put(path, {**published, "state": "received", "updated_at_ms": published["updated_at_ms"] - 1})
    with app.app_context():
        service.publish_stand_order(stand_order["id"])
    assert feed.get(path)["state"] == "preparing"


def test_a_refund_is_published_to_the_buyer(make_bar, make_user, feed):
    bar = make_bar()
    buyer = make_user()
    order = bar.paid(buyer, bar.burger())
    [stand_order] = bar.stand_orders(buyer, order["id"])
    path = service.stand_order_path({**stand_order, "buyer_uid": buyer.uid})
    feed.flush()
    assert feed.get(path)["state"] == "received"
    bar.shop.refund(bar.owner, order["id"])
    feed.flush()
    assert feed.get(path)["state"] == "cancelled"
    assert feed.get(service.stand_queue_path(bar.id, bar.shop.id))["received"] == 0
