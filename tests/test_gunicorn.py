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

from app.inventory import lanes
from app.timeutil import utcnow
from devstack import free_port
from tests.conftest import wait_for

ROOT = Path(__file__).resolve().parent.parent


def start_master(tmp_path, **env):
    """A gunicorn master with two workers on a free port; (process, base URL) once it answers ready."""
    port = free_port()
    env = {**os.environ, "APP_ENV": "development", "API_HOST": "127.0.0.1", "API_PORT": str(port),
           "WEB_CONCURRENCY": "2", "GUNICORN_THREADS": "2", "LOG_DIR": str(tmp_path), "PROMETHEUS_MULTIPROC_DIR": "",
           "LANE_LEASE_SECONDS": "0", **env}
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "run:app"], cwd=ROOT,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        # A worker's first Firestore call opens its channel, which takes seconds on a busy machine.
        deadline = time.monotonic() + 120
        while True:
            try:
                if requests.get(f"{base}/health/ready", timeout=30).status_code == 200:
                    return proc, base
            except (requests.ConnectionError, requests.Timeout):
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "gunicorn did not come up"
            time.sleep(0.2)
    except BaseException:
        stop_master(proc)
        raise


def stop_master(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture
def gunicorn(stack, tmp_path):
    proc, base = start_master(tmp_path)
    try:
        yield base
    finally:
        stop_master(proc)


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


def _parent(pid):
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def _lanes(app, count):
    """{lane: worker pid} of the live lane leases, once there are ``count`` of them."""
    def held():
        with app.app_context():
            found = {lane: int(holder.split(":")[1]) for lane, holder in lanes.held_lanes(utcnow()).items()}
        return found if len(found) == count else None

    return wait_for(held, timeout=60)


def test_workers_of_two_masters_hold_lanes_no_other_worker_holds(app, stack, tmp_path):
    """Two hosts, as two gunicorn masters on this machine over one Firestore: four workers, four lanes."""
    masters = []
    try:
        for number in range(2):
            masters.append(start_master(tmp_path / f"master-{number}", LANE_LEASE_SECONDS="3")[0])
        held = _lanes(app, 4)
        assert sorted(held) == [0, 1, 2, 3]
        assert sorted(_parent(pid) for pid in held.values()) == sorted(m.pid for m in masters for _ in range(2))
        # A host going away gives its lanes up; the one that replaces it takes the free ones.
        stop_master(masters.pop(0))
        remaining = _lanes(app, 2)
        assert {_parent(pid) for pid in remaining.values()} == {masters[0].pid}
        masters.append(start_master(tmp_path / "master-2", LANE_LEASE_SECONDS="3")[0])
        again = _lanes(app, 4)
        assert sorted(again) == [0, 1, 2, 3] and {k: v for k, v in again.items() if k in remaining} == remaining
    finally:
        for proc in masters:
            stop_master(proc)
