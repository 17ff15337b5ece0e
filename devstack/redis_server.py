"""A throwaway redis-server on its own port, for tests and local runs that want shared storage."""

import atexit
import shutil
import socket
import tempfile
from pathlib import Path

from .procs import Child, DevstackError, free_port, wait_ready


class RedisServer:
    def __init__(self, port=None, log_dir=None):
        self.port = port or free_port()
        self.log_dir = Path(log_dir) if log_dir else None
        self._child = Child("redis", self._ready)
        self._tmp = None

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pid(self):
        return self._child.proc.pid if self._child.proc else None

    def start(self, timeout=10):
        if self._tmp:
            return self
        server = shutil.which("redis-server")
        if not server:
            raise DevstackError(
                "`redis-server` not found on PATH: install it (Debian: apt-get install -y redis-server; "
                "`make bootstrap` does it when run as root)."
            )
        self._tmp = Path(tempfile.mkdtemp(prefix="devstack-redis-"))
        atexit.register(self.stop)
        log_dir = self.log_dir or self._tmp
        try:
            log_dir.mkdir(parents=True, exist_ok=True)
            # No persistence: --dir keeps anything redis might still write out of the caller's cwd.
            self._child.start(
                [server, "--port", self.port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                 "--dir", self._tmp],
                log_dir,
            )
            wait_ready([self._child], timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self):
        if not self._tmp:
            return
        self._child.stop()
        shutil.rmtree(self._tmp, ignore_errors=True)
        self._tmp = None
        atexit.unregister(self.stop)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _ready(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False
