"""The scheduler process and its lease: one leader, a standby that takes over, clean SIGTERM."""
import signal
import time
from datetime import timedelta

import time_machine

from app.leases import SCHEDULER_LEASE, acquire_lease, get_lease, release_lease
from app.timeutil import utcnow
from tests.conftest import wait_for


def test_a_lease_has_one_holder_until_it_expires(app):
    with app.app_context():
        assert acquire_lease("job", "a", ttl_seconds=30)
        assert not acquire_lease("job", "b", ttl_seconds=30)
        assert acquire_lease("job", "a", ttl_seconds=30)  # renewal
        with time_machine.travel(utcnow() + timedelta(seconds=31), tick=False):
            assert acquire_lease("job", "b", ttl_seconds=30)
            assert not acquire_lease("job", "a", ttl_seconds=30)
        assert not release_lease("job", "a")
        assert release_lease("job", "b")
        assert get_lease("job") is None


def holder_pid(app):
    with app.app_context():
        lease = get_lease(SCHEDULER_LEASE)
    return int(lease["holder"].split(":")[1]) if lease else None


def test_a_second_scheduler_stands_by_and_takes_over_when_the_first_stops(app, start_scheduler, tmp_path):
    first = start_scheduler()
    wait_for(lambda: holder_pid(app) == first.pid)

    second = start_scheduler()
    second_log = tmp_path / "scheduler-1" / "app.log"
    wait_for(lambda: second_log.exists() and "is now standby" in second_log.read_text())
    # Two more heartbeats of the standby: the lease must stay with the first.
    time.sleep(2)
    assert second.poll() is None
    assert holder_pid(app) == first.pid

    first.send_signal(signal.SIGTERM)
    assert first.wait(timeout=15) == 0
    wait_for(lambda: holder_pid(app) == second.pid, timeout=5)

    second.send_signal(signal.SIGTERM)
    assert second.wait(timeout=15) == 0
    with app.app_context():
        assert get_lease(SCHEDULER_LEASE) is None
    for name in ("scheduler-0.stderr", "scheduler-1.stderr"):
        assert "Traceback" not in (tmp_path / name).read_text()


def test_sigterm_while_starting_up_stops_cleanly(start_scheduler, tmp_path):
    proc = start_scheduler()
    # The log file appears while the app is being built, before the first lease transaction.
    wait_for(lambda: (tmp_path / "scheduler-0" / "app.log").exists(), interval=0.02)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=15) == 0
    assert "Traceback" not in (tmp_path / "scheduler-0.stderr").read_text()


def test_every_job_names_a_service_function_that_exists(app):
    from app.jobs import scheduler_jobs
    from scheduler import _resolve

    jobs = scheduler_jobs(app.config)
    assert {job["id"] for job in jobs} >= {"scheduler_lease", "expire_holds"}
    for job in jobs:
        assert callable(_resolve(job["func"])), job["id"]
