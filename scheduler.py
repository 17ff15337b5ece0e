"""The scheduler process: ``python scheduler.py``.

Runs the jobs of ``app.jobs`` with APScheduler, each inside an app context,
never inside a web worker. SIGTERM or Ctrl-C stops it cleanly and gives up the
scheduler lease so a standby takes over at once.
"""
import importlib
import logging
import signal

from apscheduler.schedulers.blocking import BlockingScheduler

from app import create_app
from app.jobs import scheduler_jobs
from app.leases import hold_scheduler_lease, is_scheduler_leader, new_holder_id, release_scheduler_lease

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
    app = create_app()
    app.config["SCHEDULER_ID"] = new_holder_id()
    scheduler = BlockingScheduler(timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1})
    for job in scheduler_jobs(app.config):
        scheduler.add_job(_runner(app, job), job["trigger"], id=job["id"], seconds=job["seconds"])

    def stop(signum, frame):
        logger.info("scheduler %s stopping on signal %s", app.config["SCHEDULER_ID"], signum)
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    with app.app_context():
        hold_scheduler_lease()
    logger.info("scheduler %s started with %d jobs", app.config["SCHEDULER_ID"], len(scheduler_jobs(app.config)))
    scheduler.start()
    with app.app_context():
        release_scheduler_lease()
    logger.info("scheduler %s stopped", app.config["SCHEDULER_ID"])


if __name__ == "__main__":
    main()
