"""Firestore unreachable mid-flight: 503 JSON quickly, nothing half-written, recovery without a restart.

The app talks to the session's emulator through a loopback TCP proxy that the
test can cut and restore, so the emulator keeps its data across the outage.
"""
import socket
import threading
import time

import pytest

from app.auth import Role
from devstack import free_port


class CuttableProxy:
    def __init__(self, target):
        host, port = target.split(":")
        self.target = (host, int(port))
        self.port = free_port()
        self.open = True
        self._connections = []
        self._server = socket.create_server(("127.0.0.1", self.port))
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            if not self.open:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._connections += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

    def cut(self):
        self.open = False
        with self._lock:
            for s in self._connections:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self._connections.clear()

    def restore(self):
        self.open = True

    def close(self):
        self.cut()
        self._server.close()


@pytest.fixture
def proxy(stack, monkeypatch):
    proxy = CuttableProxy(stack.firestore_host)
    # The client libraries read the emulator host from the environment; monkeypatch restores it.
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", f"127.0.0.1:{proxy.port}")
    yield proxy
    proxy.close()


def wait_until_ready(client, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.get("/api/v1/health/ready").status_code == 200:
            return True
        time.sleep(0.5)
    return False


def test_an_outage_answers_503_changes_nothing_and_the_running_app_recovers(make_app, make_user, make_sale,
                                                                           proxy):
    sale = make_sale(capacity=5)
    app = make_app(FIRESTORE_EMULATOR_HOST=f"127.0.0.1:{proxy.port}", FIRESTORE_TIMEOUT_SECONDS=2)
    client = sale.client = app.test_client()
    buyer, organizer = make_user(), make_user(Role.ORGANIZER)
    venue = {"name": "Outage Hall", "address": "1 Road", "city": "Oslo", "country": "NO", "capacity": 10}
    assert sale.remaining() == 5

    proxy.cut()
    started = time.monotonic()
    responses = {
        "ready": client.get("/api/v1/health/ready"),
        "list": client.get("/api/v1/events?q=outage"),
        "hold": sale.hold(buyer, 2),
        "venue": client.post("/api/v1/venues", json=venue, headers=organizer.headers),
    }
    assert time.monotonic() - started < 40
    for name, response in responses.items():
        assert response.status_code == 503, (name, response.get_data(as_text=True))
        assert response.json["error"]["code"] in {"service_unavailable", "not_ready"}
    assert responses["hold"].headers["Retry-After"] == "5"

    proxy.restore()
    assert wait_until_ready(client)
    assert sale.remaining() == 5
    assert client.get("/api/v1/venues?city=Oslo").json["items"] == []
    assert sale.hold(buyer, 2).status_code == 201
    assert sale.remaining() == 3
