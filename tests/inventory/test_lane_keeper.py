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


def keeper_of(app, monkeypatch, **kwargs):
    monkeypatch.setattr(units.HINT, "lane", units.HINT.lane)
    monkeypatch.setattr(units.HINT, "lanes", units.HINT.lanes)
    return lanes.LaneKeeper(app, ttl_seconds=30, **kwargs)


def test_a_worker_asks_for_the_lane_its_master_numbered_it_and_counts_its_masters_workers(app, monkeypatch):
    keeper = keeper_of(app, monkeypatch, preferred_lane=2, least_lanes=4)
    with app.app_context():
        assert keeper.keep() == 2
        assert get_lease(lanes.lease_name(2))["holder"] == keeper.holder
        assert get_lease(lanes.lease_name(0)) is None
    # The first of four workers to take its lease does not count one lane and sell every unit as its own.
    assert (units.HINT.lane, units.HINT.lanes) == (2, 4)


def test_a_lane_another_workers_transaction_holds_is_passed_over(app, monkeypatch):
    keeper = keeper_of(app, monkeypatch)
    acquire = lanes.acquire_lease

    def contended_on_lane_0(name, holder, *, ttl_seconds):
        if name == lanes.lease_name(0):
            try:
                raise gexc.Aborted("Transaction lock timeout.")
            except gexc.Aborted as abort:
                raise ValueError("Failed to commit transaction in 5 attempts.") from abort
        return acquire(name, holder, ttl_seconds=ttl_seconds)

    monkeypatch.setattr(lanes, "acquire_lease", contended_on_lane_0)
    with app.app_context():
        assert keeper.keep() == 1


def test_a_renewal_that_loses_to_another_transaction_is_one_warning_and_the_lane_is_kept(app, monkeypatch,
                                                                                         caplog):
    keeper = keeper_of(app, monkeypatch)
    with app.app_context():
        assert keeper.keep() == 0

    def lock_timeout(name, holder, *, ttl_seconds):
        raise gexc.Aborted("Transaction lock timeout.")

    monkeypatch.setattr(lanes, "acquire_lease", lock_timeout)
    with caplog.at_level(logging.WARNING, logger=lanes.__name__):
        keeper.renew()
    [record] = [r for r in caplog.records if r.name == lanes.__name__]
    assert (record.levelname, record.exc_info) == ("WARNING", None)
    assert keeper.lane == 0 and units.HINT.lane == 0

    def firestore_gone(name, holder, *, ttl_seconds):
        raise gexc.ServiceUnavailable("connection refused")

    monkeypatch.setattr(lanes, "acquire_lease", firestore_gone)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger=lanes.__name__):
        keeper.renew()
    [record] = [r for r in caplog.records if r.name == lanes.__name__]
    assert record.levelname == "ERROR" and record.exc_info is not None
