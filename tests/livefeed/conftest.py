"""Fixtures: the Realtime Database stand-in for the session, and apps that publish to it."""
import time

import pytest

from app.firebase import rtdb
from app.livefeed.publisher import EXTENSION
from devstack.rtdb import RtdbServer

NAMESPACE = "demo-boxoffice-test-default-rtdb"


@pytest.fixture(scope="session")
def rtdb_server(tmp_path_factory):
    with RtdbServer(log_dir=tmp_path_factory.mktemp("rtdb-logs")) as server:
        yield server


@pytest.fixture
def live_config(rtdb_server):
    """Config that turns the live feed on against the stand-in, the way a real emulator is configured."""
    rtdb_server.reset()
    return {"FIREBASE_DATABASE_URL": f"https://{NAMESPACE}.firebaseio.com",
            "FIREBASE_DATABASE_EMULATOR_HOST": rtdb_server.host, "LIVE_FEED_INTERVAL_MS": 200}


@pytest.fixture
def app(make_app, live_config):
    app = make_app(**live_config)
    yield app
    if (publisher := app.extensions.get(EXTENSION)) is not None:
        publisher.stop()


class Feed:
    """What mobile apps would read from the Realtime Database, and the publisher's progress."""

    def __init__(self, app, server):
        self.app, self.server = app, server

    def get(self, path):
        with self.app.app_context():
            return rtdb(path).get()

    def put(self, path, value):
        with self.app.app_context():
            rtdb(path).set(value)

    def availability(self, event_id):
        value = self.get(f"live/events/{event_id}/availability")
        return value and {t["ticket_type_id"]: t for t in value["ticket_types"]}

    def hold(self, uid, hold_id):
        return self.get(f"live/users/{uid}/holds/{hold_id}")

    def flush(self):
        """Write what is pending now (settle writes included) and wait until each write was tried."""
        publisher = self.app.extensions[EXTENSION]
        assert publisher.flush(timeout=30)
        assert publisher.flush(timeout=30)

    def writes(self, path):
        return sum(1 for method, p, _ in self.server.requests() if method in {"PUT", "PATCH"} and p == path)

    def wait_for(self, check, timeout=10):
        deadline = time.monotonic() + timeout
        while not (result := check()):
            assert time.monotonic() < deadline, "the live feed did not catch up"
            time.sleep(0.05)
        return result


@pytest.fixture
def feed(app, rtdb_server):
    return Feed(app, rtdb_server)
