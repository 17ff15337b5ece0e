"""The production server path: gunicorn with two workers over the emulators."""
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from devstack import free_port

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def gunicorn(stack, tmp_path):
    port = free_port()
    env = {**os.environ, "APP_ENV": "development", "API_HOST": "127.0.0.1", "API_PORT": str(port),
           "WEB_CONCURRENCY": "2", "GUNICORN_THREADS": "2", "LOG_DIR": str(tmp_path), "PROMETHEUS_MULTIPROC_DIR": ""}
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "run:app"], cwd=ROOT,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{base}/health/ready", timeout=5).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):
                # A worker still booting on a loaded machine answers late: not up yet, within the deadline.
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "gunicorn did not come up"
            time.sleep(0.2)
        yield base
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_gunicorn_serves_ready_and_sums_metrics_across_workers(gunicorn):
    # A new connection per request, so both workers answer some of them.
    for _ in range(20):
        assert requests.get(f"{gunicorn}/health", timeout=5).status_code == 200
    text = requests.get(f"{gunicorn}/metrics", timeout=5).text
    match = re.search(r'boxoffice_http_requests_total\{endpoint="/api/v1/health",method="GET",status="200"\} (\S+)',
                      text)
    assert match and float(match.group(1)) == 20


def test_every_worker_gets_a_lane_no_live_worker_has_and_hands_it_to_the_inventory(monkeypatch):
    import runpy
    from types import SimpleNamespace

    from app.inventory import units

    monkeypatch.setattr("dotenv.load_dotenv", lambda *args, **kwargs: None)
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    server = SimpleNamespace(WORKERS={}, num_workers=3)
    for pid in (101, 102, 103):
        server.WORKERS[pid] = SimpleNamespace()
        conf["pre_fork"](server, server.WORKERS[pid])
    assert [w.lane for w in server.WORKERS.values()] == [0, 1, 2]
    del server.WORKERS[102]
    replacement = SimpleNamespace()
    conf["pre_fork"](server, replacement)
    assert replacement.lane == 1
    hint = units.TakenHint()
    monkeypatch.setattr(units, "HINT", hint)
    conf["post_fork"](server, replacement)
    assert (hint.lane, hint.lanes) == (1, 3)
