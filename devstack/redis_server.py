"""A throwaway redis-server on its own port, for tests and local runs that want shared storage."""

import shutil
import socket

from .procs import DevstackError, LocalServer


class RedisServer(LocalServer):
    name = "redis"

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def command(self, tmp):
        server = shutil.which("redis-server")
        if not server:
            raise DevstackError(
                "`redis-server` not found on PATH: install it (Debian: apt-get install -y redis-server; "
                "`make bootstrap` does it when run as root)."
            )
        # No persistence: --dir keeps anything redis might still write out of the caller's cwd.
        return [server, "--port", self.port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--dir", tmp]

    def ready(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False
