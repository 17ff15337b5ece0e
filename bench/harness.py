"""What every benchmark here shares: the in-process app, gunicorn on loopback, RESULTS.md sections."""
import os
import re
import statistics
import sys
import tempfile
import threading
import time
from collections import namedtuple
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from devstack import RedisServer, Stack, free_port  # noqa: E402
from devstack.procs import spawn, stop_process  # noqa: E402

PROJECT_ID = "demo-boxoffice-bench"
RESULTS = ROOT / "bench" / "RESULTS.md"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

Server = namedtuple("Server", "port pid")


@contextmanager
def emulators(prefix, *, redis=False):
    """(stack, redis url or None, log dir): the emulators on free ports, and Redis when asked for."""
    log_dir = Path(tempfile.mkdtemp(prefix=prefix))
    server = RedisServer(log_dir=log_dir) if redis else None
    with Stack(project_id=PROJECT_ID, log_dir=log_dir) as stack:
        if server:
            server.start()
        try:
            os.environ.update(stack.env)
            yield stack, server.url if server else None, log_dir
        finally:
            if server:
                server.stop()


def make_app(log_dir, **overrides):
    """The app in this process, for seeding through the services and for in-process measurements."""
    from app import create_app
    from app.config import DevelopmentConfig

    return create_app(DevelopmentConfig(LOG_DIR=str(log_dir), LOG_LEVEL="WARNING", **overrides))


@contextmanager
def served(stack, log_dir, *, redis_url=None, workers=2, threads=None, env=None):
    """bench.wsgi:app under gunicorn (gthread) on a free loopback port; yields a Server (port, master pid)."""
    port = free_port()
    env = {**os.environ, **stack.env, "APP_ENV": "development", "API_HOST": "127.0.0.1", "API_PORT": str(port),
           "WEB_CONCURRENCY": str(workers), "RATELIMIT_ENABLED": "false", "LOG_LEVEL": "WARNING",
           "LOG_DIR": str(log_dir), "REDIS_URL": redis_url or "",
           **({"GUNICORN_THREADS": str(threads)} if threads else {}), **(env or {})}
    with open(Path(log_dir) / "gunicorn.log", "ab") as log:
        proc = spawn([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "bench.wsgi:app"],
                     log=log, env=env, cwd=ROOT)
    try:
        deadline = time.monotonic() + 30
        while not _answers(port):
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit(f"gunicorn did not answer; see {log_dir}/gunicorn.log")
            time.sleep(0.2)
        yield Server(port, proc.pid)
    finally:
        stop_process(proc)


def _answers(port):
    try:
        return requests.get(f"http://127.0.0.1:{port}/bench/hello", timeout=1).ok
    except (requests.ConnectionError, requests.Timeout):
        return False


def children(pid):
    """PIDs whose parent is pid (Linux /proc): gunicorn's workers, given the master."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def cpu_seconds(pids):
    """User + system CPU seconds the processes have used so far, all their threads included."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / CLOCK_TICKS


def release_together(buyer, count):
    """Run ``buyer(index, ready)`` in ``count`` threads, each calling ``ready()`` once set up; all go at once.

    Returns the moment (time.monotonic) they were released, after every thread has finished.
    """
    barrier = threading.Barrier(count + 1)
    threads = [threading.Thread(target=buyer, args=(index, barrier.wait)) for index in range(count)]
    for thread in threads:
        thread.start()
    barrier.wait()
    released = time.monotonic()
    for thread in threads:
        thread.join()
    return released


def quantiles_ms(seconds):
    """(p50, p99) in milliseconds."""
    if len(seconds) < 2:
        value = seconds[0] * 1000 if seconds else float("nan")
        return value, value
    cuts = statistics.quantiles(seconds, n=100, method="inclusive")
    return cuts[49] * 1000, cuts[98] * 1000


def write_section(title, body):
    """Replace (or append) the ``## title`` section of bench/RESULTS.md, leaving the others alone."""
    section = f"## {title}\n\n{body.strip()}\n"
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", flags=re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    RESULTS.write_text(text.rstrip("\n") + "\n")
