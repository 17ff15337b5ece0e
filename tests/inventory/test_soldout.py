"""Sold out from memory: a verdict stands only while no unit can become free, whoever frees one."""
import os
import subprocess
import sys
import textwrap
import time
from datetime import timedelta
from pathlib import Path

import time_machine

from app.checkout import holds
from app.inventory import claims, soldout, units
from app.timeutil import utcnow
from tests.orders.conftest import error

ROOT = Path(__file__).resolve().parent.parent.parent


def sold_out_from_the_verdict_alone(app, sale, buyer, monkeypatch):
    """The buyer hears sold_out although no count may run: the verdict answered."""
    def no_count(*args, **kwargs):
        raise AssertionError("a count ran although the verdict stands")

    with monkeypatch.context() as patched:
        patched.setattr(units, "count_live", no_count)
        return error(sale.hold(buyer))


def test_the_buyers_after_a_sell_out_hear_it_from_the_verdict(app, make_sale, make_user, monkeypatch):
    sale = make_sale(capacity=2, per_order_limit=2)
    assert sale.hold(make_user(), 2).status_code == 201
    assert error(sale.hold(make_user())) == (409, "sold_out")  # the count that records the verdict
    with app.app_context():
        assert soldout.stands(sale.general["id"], utcnow())
    assert sold_out_from_the_verdict_alone(app, sale, make_user(), monkeypatch) == (409, "sold_out")


RELEASE = textwrap.dedent("""
    import sys
    from app import create_app
    from app.auth import CurrentUser, Role
    from app.checkout import service
    from app.config import TestingConfig

    hold_id, buyer_uid, log_dir = sys.argv[1:4]
    app = create_app(TestingConfig(LOG_DIR=log_dir))
    with app.app_context():
        service.release_hold(hold_id, CurrentUser(uid=buyer_uid, email=None, role=Role.CUSTOMER))
""")


def within(seconds, condition):
    """Whether ``condition()`` holds within ``seconds``: a listener hears Firestore a moment after a commit."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def woken_within(seconds, pool_id):
    """Whether, within ``seconds``, this process stops believing the verdict it follows."""
    return within(seconds, lambda: not soldout.stands(pool_id, utcnow()))


def follows_within(seconds, pool_id):
    """Whether, within ``seconds``, this process answers from a verdict it holds in memory."""
    return within(seconds, lambda: soldout.FOLLOWED.stands(pool_id, utcnow()))


def test_a_release_in_another_process_wakes_the_verdict_this_one_follows(app, make_sale, make_user, tmp_path):
    sale = make_sale(capacity=2, per_order_limit=2)
    holder = make_user()
    hold = sale.hold(holder, 2).json
    assert error(sale.hold(make_user())) == (409, "sold_out")
    # Another worker (here: another process, with its own memory of taken units) releases the hold.
    subprocess.run([sys.executable, "-c", RELEASE, hold["id"], holder.uid, str(tmp_path)], cwd=ROOT,
                   env=dict(os.environ), check=True, timeout=120)
    with app.app_context():
        assert woken_within(10, sale.general["id"])
    assert sale.hold(make_user(), 2).status_code == 201


def test_the_buyers_after_a_sell_out_are_answered_with_no_read_at_all(app, make_sale, make_user, monkeypatch):
    sale = make_sale(capacity=1)
    assert sale.hold(make_user()).status_code == 201
    assert error(sale.hold(make_user())) == (409, "sold_out")

    def no_read(*args, **kwargs):
        raise AssertionError("Firestore was read although this process follows a standing verdict")

    with app.app_context():
        assert follows_within(10, sale.general["id"])
    monkeypatch.setattr(soldout, "db", no_read)
    monkeypatch.setattr(holds, "_free_slot", no_read)
    assert sold_out_from_the_verdict_alone(app, sale, make_user(), monkeypatch) == (409, "sold_out")


def test_a_release_in_this_process_drops_the_verdict_before_any_listener_hears(app, make_sale, make_user,
                                                                               monkeypatch):
    sale = make_sale(capacity=1)
    holder = make_user()
    hold = sale.hold(holder).json
    monkeypatch.setattr(soldout._Followed, "_heard", lambda self, *args: setattr(self, "confirmed", True))
    assert error(sale.hold(make_user())) == (409, "sold_out")
    with app.app_context():
        assert soldout.stands(sale.general["id"], utcnow())
    assert sale.release(holder, hold["id"]).status_code == 200
    # Another buyer of this process heard sold_out just before the release: the next one goes to the verdict.
    units.HINT.believe_sold_out(sale.general["id"])
    assert sale.hold(make_user()).status_code == 201


def as_another_worker(sale, units_count):
    """This process forgets what it freed, like a worker that never heard of it: every unit looks taken."""
    units.HINT.replace(sale.general["id"], {unit: units.FOREVER for unit in range(units_count)})


def test_a_refund_a_cancelled_order_and_a_raised_capacity_each_wake_it(app, make_shop, make_user, monkeypatch):
    shop = make_shop(capacity=2, per_order_limit=2)
    paid = shop.paid(make_user())
    unpaid = shop.buy(make_user())
    assert error(shop.sale.hold(make_user())) == (409, "sold_out")

    assert shop.refund(shop.owner, paid["id"]).status_code == 201
    as_another_worker(shop.sale, 2)
    assert shop.sale.hold(make_user()).status_code == 201
    assert error(shop.sale.hold(make_user())) == (409, "sold_out")
    assert sold_out_from_the_verdict_alone(app, shop.sale, make_user(), monkeypatch) == (409, "sold_out")

    cancelled = shop.client.post(f"/api/v1/orders/{unpaid['id']}/cancel", headers=shop.owner.headers)
    assert cancelled.status_code == 200
    as_another_worker(shop.sale, 2)
    assert shop.sale.hold(make_user()).status_code == 201
    assert error(shop.sale.hold(make_user())) == (409, "sold_out")

    url = f"/api/v1/events/{shop.id}/ticket-types/{shop.sale.general['id']}"
    assert shop.client.patch(url, json={"capacity": 3}, headers=shop.owner.headers).status_code == 200
    as_another_worker(shop.sale, 3)
    assert shop.sale.hold(make_user()).status_code == 201


def test_a_held_unit_that_expires_makes_the_verdict_void_with_no_scheduler(app, make_sale, make_user):
    sale = make_sale(capacity=1)
    assert sale.hold(make_user()).status_code == 201
    assert error(sale.hold(make_user())) == (409, "sold_out")
    with time_machine.travel(utcnow() + timedelta(seconds=app.config["HOLD_TTL_SECONDS"] + 1), tick=False):
        with app.app_context():
            assert not soldout.stands(sale.general["id"], utcnow())
        assert sale.hold(make_user()).status_code == 201


def test_a_verdict_from_a_count_older_than_the_last_release_never_stands(app, make_sale, make_user):
    sale = make_sale(capacity=1)
    holder = make_user()
    hold = sale.hold(holder).json
    with app.app_context():
        counted_at = utcnow()
        taken, read_time = units.count_live(sale.general["id"], counted_at)
        assert taken == 1
    # The release commits between the count and the verdict's write.
    assert sale.release(holder, hold["id"]).status_code == 200
    with app.app_context():
        soldout.record(sale.general["id"], read_time, counted_at)
        assert not soldout.stands(sale.general["id"], utcnow())
    assert sale.hold(make_user()).status_code == 201


def test_a_process_that_found_the_pool_sold_out_asks_the_verdict_before_guessing(app, make_sale, make_user,
                                                                                 monkeypatch):
    sale = make_sale(capacity=2, per_order_limit=2)
    assert sale.hold(make_user(), 2).status_code == 201
    assert error(sale.hold(make_user())) == (409, "sold_out")
    # What another worker knows of the units: nothing, but it has heard sold_out once.
    units.HINT.replace(sale.general["id"], {})
    units.HINT.believe_sold_out(sale.general["id"])

    def no_probe(*args, **kwargs):
        raise AssertionError("probed units although the pool was believed sold out")

    monkeypatch.setattr(claims, "_probe", no_probe)
    assert sold_out_from_the_verdict_alone(app, sale, make_user(), monkeypatch) == (409, "sold_out")


def test_a_process_following_a_verdict_can_still_start_children(app, make_sale, make_user):
    sale = make_sale(capacity=1)
    assert sale.hold(make_user()).status_code == 201
    assert error(sale.hold(make_user())) == (409, "sold_out")
    with app.app_context():
        assert follows_within(10, sale.general["id"])
    # A child started with a hook runs Python's fork handlers, as the devstack's processes are started.
    child = subprocess.run(["true"], preexec_fn=lambda: None, timeout=60)
    assert child.returncode == 0
    with app.app_context():
        assert soldout.FOLLOWED.stands(sale.general["id"], utcnow()) is None
        assert soldout.stands(sale.general["id"], utcnow())


def test_a_process_follows_a_bounded_number_of_pools_and_lets_the_longest_followed_go(app, monkeypatch):
    monkeypatch.setattr(soldout, "FOLLOWED_POOLS", 2)
    verdicts = soldout._Verdicts()
    with app.app_context():
        now = utcnow()
        try:
            for pool_id in ("pool-a", "pool-b", "pool-c"):
                verdicts.follow(pool_id, now, units.FOREVER)
            assert within(10, lambda: verdicts.stands("pool-b", now) and verdicts.stands("pool-c", now))
            assert verdicts.stands("pool-a", now) is None
        finally:
            verdicts.drop_all()
