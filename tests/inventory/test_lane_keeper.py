"""A selling worker's lane lease: taken on start, given up on exit, never a crash on the way out."""
import logging

from google.api_core import exceptions as gexc

from app.inventory import lanes, units
from app.leases import get_lease


def test_a_worker_that_cannot_give_its_lane_up_exits_cleanly_and_leaves_the_lease_to_lapse(app, monkeypatch, caplog):
    monkeypatch.setattr(units.HINT, "lane", units.HINT.lane)
    monkeypatch.setattr(units.HINT, "lanes", units.HINT.lanes)
    keeper = lanes.LaneKeeper(app, ttl_seconds=30)
    with app.app_context():
        assert keeper.keep() == 0

    def firestore_gone(name, holder):
        raise gexc.ServiceUnavailable("connection refused")

    monkeypatch.setattr(lanes, "release_lease", firestore_gone)
    with caplog.at_level(logging.WARNING, logger=lanes.__name__):
        keeper.stop()
    assert "lane 0 not given up" in caplog.text
    with app.app_context():
        assert get_lease(lanes.lease_name(0))["holder"] == keeper.holder
