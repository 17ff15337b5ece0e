"""Under gunicorn a worker starts its publisher after the fork and writes what is pending when it stops."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from app.livefeed import service
from app.livefeed.publisher import EXTENSION
from devstack import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_a_worker_publishes_and_writes_what_is_pending_on_sigterm(app, make_sale, make_user, feed, live_config,
                                                                   rtdb_server, tmp_path):
    sale = make_sale(capacity=10)
    # Creating the sale published from this process; only the gunicorn worker's writes are measured.
    app.extensions[EXTENSION].stop()
    rtdb_server.reset()
    buyers = [make_user() for _ in range(6)]
    port = free_port()
    # An interval far longer than the test: every availability write after the first is pending at SIGTERM.
    # One worker, so which state that first write saw does not depend on how connections were spread.
    env = {**os.environ, **{k: str(v) for k, v in live_config.items()}, "LIVE_FEED_INTERVAL_MS": "600000",
           "APP_ENV": "development", "API_HOST": "127.0.0.1", "API_PORT": str(port), "WEB_CONCURRENCY": "1",
           "GUNICORN_THREADS": "2", "LOG_DIR": str(tmp_path), "PROMETHEUS_MULTIPROC_DIR": ""}
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "run:app"], cwd=ROOT,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        deadline = time.monotonic() + 60
        while not _up(base):
            assert proc.poll() is None and time.monotonic() < deadline, "gunicorn did not come up"
            time.sleep(0.2)
        holds = []
        for buyer in buyers:
            response = requests.post(f"{base}/events/{sale.id}/holds", headers=buyer.headers, timeout=10,
                                     json={"items": [{"ticket_type_id": sale.general["id"], "quantity": 1}]})
            assert response.status_code == 201
            holds.append(response.json())
            if len(holds) == 1:
                feed.wait_for(lambda: feed.availability(sale.id))
        for buyer, hold in zip(buyers, holds):
            assert feed.wait_for(lambda b=buyer, h=hold: feed.hold(b.uid, h["id"]))["state"] == "active"
        assert feed.availability(sale.id)[sale.general["id"]]["remaining"] == 9
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)

    assert proc.returncode == 0
    assert feed.availability(sale.id)[sale.general["id"]]["remaining"] == 4
    assert feed.writes("/" + service.availability_path(sale.id)) == 2


def _up(base):
    try:
        return requests.get(f"{base}/health", timeout=5).status_code == 200
    except requests.RequestException:
        return False
