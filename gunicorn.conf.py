"""gunicorn settings: ``gunicorn -c gunicorn.conf.py run:app``.

Each worker builds its own app (no preload), so every worker opens its own
Firestore channel after the fork. With more than one worker, point REDIS_URL
at a shared Redis so rate limits and the cache are shared too.
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
accesslog = None
errorlog = "-"
preload_app = False


def on_starting(server):
    # Prometheus keeps each worker's counters in files that /metrics sums.
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = server.own_metrics_dir = tempfile.mkdtemp(prefix="boxoffice-metrics-")


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if getattr(server, "own_metrics_dir", None):
        shutil.rmtree(server.own_metrics_dir, ignore_errors=True)
