"""gunicorn settings: ``gunicorn -c gunicorn.conf.py run:app``.

Each worker builds its own app (no preload), so every worker opens its own
Firestore channel after the fork. With more than one worker, point REDIS_URL
at a shared Redis so rate limits and the cache are shared too.

Every worker gets a lane, a number no other live worker of this master has:
it offers its buyers every ``workers``-th unit of a ticket type first, so that
workers racing through an on-sale rarely pick the same unit
(app/inventory/units.py). With LANE_LEASE_SECONDS set each worker then takes
a lane lease in Firestore, so that workers of several hosts never share one
(app/inventory/lanes.py).
"""
import multiprocessing
import os
import shutil
import tempfile

from dotenv import load_dotenv

load_dotenv()


def _setting(key, default):
    return os.environ.get(key) or default


bind = f"{_setting('API_HOST', '0.0.0.0')}:{_setting('API_PORT', '5000')}"
workers = int(_setting("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
threads = int(_setting("GUNICORN_THREADS", 4))
worker_class = "gthread"
timeout = 30
graceful_timeout = 20
keepalive = 5
# An on-sale opens thousands of connections at once: let the kernel queue them (up to net.core.somaxconn)
# instead of resetting those past gunicorn's default of 2048.
backlog = 4096
accesslog = None
errorlog = "-"
preload_app = False


def on_starting(server):
    # Prometheus keeps each worker's counters in files that /metrics sums.
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = server.own_metrics_dir = tempfile.mkdtemp(prefix="boxoffice-metrics-")


def pre_fork(server, worker):
    lanes = {getattr(w, "lane", None) for w in server.WORKERS.values()}
    worker.lane = next(lane for lane in range(len(lanes) + 1) if lane not in lanes)


def post_fork(server, worker):
    from app.inventory import lanes
    from app.inventory.units import HINT

    # A lane for now, unique on this host; the lane lease (app/inventory/lanes.py) makes it unique across hosts.
    HINT.set_lane(worker.lane, server.num_workers)
    lanes.serving(worker.lane, server.num_workers)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if getattr(server, "own_metrics_dir", None):
        shutil.rmtree(server.own_metrics_dir, ignore_errors=True)
