"""The scheduler process: ``python scheduler.py``.

Runs the jobs of ``app.jobs`` with APScheduler, each inside an app context,
never inside a web worker. SIGTERM or Ctrl-C stops it cleanly: running jobs
finish, then the scheduler lease is given up so a standby takes over at once.
"""
import importlib
import logging
import signal
import threading

from apscheduler.schedulers.background import BackgroundScheduler

from app import create_app
from app.jobs import scheduler_jobs
from app.leases import hold_scheduler_lease, is_scheduler_leader, new_holder_id, release_scheduler_lease
from app.timeutil import utcnow

logger = logging.getLogger("app.scheduler")


def _resolve(path):
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def _runner(app, job):
    func = _resolve(job["func"])

    def run():
        with app.app_context():
            if job["leader_only"] and not is_scheduler_leader():
                return
            func()

    return run


def main():
    stopping = threading.Event()
    holder = new_holder_id()

    def stop(signum, frame):
        logger.info("scheduler %s stopping on signal %s", holder, signum)
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    app = create_app()
    app.config["SCHEDULER_ID"] = holder
    jobs = scheduler_jobs(app.config)
    # A first heartbeat before the first runs: leader-only jobs that ran before it would skip to their next interval.
    with app.app_context():
        hold_scheduler_lease()
    # A background scheduler with the main thread waiting on an event: the
    # signal handler only sets the event, so a signal can never interrupt a
    # Firestore transaction half-way.
    scheduler = BackgroundScheduler(timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1})
    for job in jobs:
        scheduler.add_job(_runner(app, job), job["trigger"], id=job["id"], seconds=job["seconds"],
                          next_run_time=utcnow())

    scheduler.start()
    logger.info("scheduler %s started with %d jobs", app.config["SCHEDULER_ID"], len(jobs))
    stopping.wait()
    scheduler.shutdown(wait=True)
    with app.app_context():
        release_scheduler_lease()
    logger.info("scheduler %s stopped", app.config["SCHEDULER_ID"])


if __name__ == "__main__":
    main()
