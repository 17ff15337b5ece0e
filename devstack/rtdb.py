"""A stand-in for the Firebase Realtime Database emulator: its REST protocol, in memory.

The real emulator is a download that is not available on this machine, so
tests and local runs use this instead. It speaks what ``firebase_admin.db``
sends to an emulator: ``GET/PUT/PATCH/POST/DELETE <path>.json?ns=<namespace>``
with ``print=silent``, ``shallow=true``, ETags (``X-Firebase-ETag``,
``if-match`` answered with 412, ``if-none-match`` with 304), server
timestamps (``{".sv": "timestamp"}``) and ``{"error": "..."}`` bodies; null
values delete, empty objects vanish. Only the admin credential firebase_admin
uses against emulators (``Bearer owner``) is let in: the stand-in does not
evaluate security rules (targaryen tests those), so it refuses every other
caller rather than pretend to. Queries (``orderBy`` and friends) are refused
with 400; nothing here uses them.

Paths no Firebase server has, for tests: ``/.standin/fault`` (PUT
``{"status": 503, "times": 2}`` makes the next data requests fail; DELETE
clears it) and ``/.standin/requests`` (GET: every data request so far as
``[method, path, ns]``; DELETE forgets them), and DELETE ``/.standin/data``
empties every namespace.

Run it with ``python -m devstack.rtdb --port PORT``; ``RtdbServer`` starts it
as a child process on a free port and stops it by PID.
"""

import argparse
import base64
import hashlib
import json
import random
import string
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from .procs import LocalServer, http_body, json_request, serve_in_foreground

ADMIN = "Bearer owner"
INVALID_KEY_CHARS = set(".$#[]/") | {chr(c) for c in range(32)} | {"\x7f"}
QUERY_PARAMS = {"orderBy", "limitToFirst", "limitToLast", "startAt", "endAt", "equalTo"}
PUSH_CHARS = "-0123456789" + string.ascii_uppercase + "_" + string.ascii_lowercase


class RequestError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def _segments(path):
    parts = [unquote(p) for p in path.split("/") if p]
    for part in parts:
        if set(part) & INVALID_KEY_CHARS:
            raise RequestError(400, f"Invalid path: key {part!r} contains an illegal character.")
    return parts


def _normalise(value, now_ms):
    """The value as stored: server timestamps resolved, nulls and empty objects gone, arrays as objects."""
    if isinstance(value, list):
        value = {str(i): v for i, v in enumerate(value)}
    if isinstance(value, dict):
        if value == {".sv": "timestamp"}:
            return now_ms
        out = {}
        for key, child in value.items():
            if set(key) & INVALID_KEY_CHARS and key not in {".value", ".priority"}:
                raise RequestError(400, f"Invalid data; key {key!r} contains an illegal character.")
            child = _normalise(child, now_ms)
            if child is not None:
                out[key] = child
        return out or None
    return value


def _exported(value):
    """Objects whose keys are 0..n-1 come back as arrays, as the real database returns them."""
    if isinstance(value, dict):
        value = {k: _exported(v) for k, v in value.items()}
        keys = list(value)
        if keys and all(k.isdigit() for k in keys) and sorted(map(int, keys)) == list(range(len(keys))):
            return [value[str(i)] for i in range(len(keys))]
    return value


def etag_of(value):
    return base64.b64encode(hashlib.sha1(json.dumps(value, sort_keys=True).encode()).digest()).decode()


class Tree:
    """One namespace's data: a JSON tree with the database's write semantics."""

    def __init__(self):
        self.root = None

    def get(self, parts):
        node = self.root
        for part in parts:
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        return node

    def set(self, parts, value):
        if not parts:
            self.root = value
            return
        self.root = self._set(self.root, parts, value)

    def _set(self, node, parts, value):
        node = dict(node) if isinstance(node, dict) else {}
        head, rest = parts[0], parts[1:]
        child = self._set(node.get(head), rest, value) if rest else value
        if child is None:
            node.pop(head, None)
        else:
            node[head] = child
        return node or None


class Database:
    def __init__(self):
        self.lock = threading.Lock()
        self.trees = {}
        self.fault = None
        self.requests = []

    def tree(self, ns):
        return self.trees.setdefault(ns, Tree())

    def take_fault(self):
        with self.lock:
            if not self.fault:
                return None
            status = self.fault["status"]
            if self.fault.get("times") is not None:
                self.fault["times"] -= 1
                if self.fault["times"] <= 0:
                    self.fault = None
            return status


def _push_id():
    millis = int(time.time() * 1000)
    stamp = ""
    for _ in range(8):
        stamp = PUSH_CHARS[millis % 64] + stamp
        millis //= 64
    return stamp + "".join(random.choice(PUSH_CHARS) for _ in range(12))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "rtdb-standin"
    database: Database

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.address_string(), fmt % args))

    def do_GET(self):
        self._handle("GET")

    def do_PUT(self):
        self._handle("PUT")

    def do_PATCH(self):
        self._handle("PATCH")

    def do_POST(self):
        self._handle("POST")

    def do_DELETE(self):
        self._handle("DELETE")

    def _reply(self, status, body=None, headers=None, raw=False):
        payload = b"" if body is None and raw else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            raise RequestError(400, "Invalid data; couldn't parse JSON object, array, or value.") from None

    def _handle(self, method):
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        try:
            if url.path.startswith("/.standin/"):
                return self._control(method, url.path)
            body = self._body() if method in {"PUT", "PATCH", "POST"} else None
            if not url.path.endswith(".json"):
                raise RequestError(404, "Not found: paths end in .json.")
            ns = query.get("ns")
            if not ns:
                raise RequestError(400, "Missing the ns query parameter (the database name).")
            parts = _segments(url.path[: -len(".json")])
            with self.database.lock:
                self.database.requests.append([method, "/" + "/".join(parts), ns])
            if (status := self.database.take_fault()) is not None:
                raise RequestError(status, "Fault injected by the stand-in.")
            if self.headers.get("Authorization") != ADMIN:
                raise RequestError(401, "Permission denied")
            if QUERY_PARAMS & set(query):
                raise RequestError(400, "Queries are not supported by this stand-in.")
            self._data(method, ns, parts, query, body)
        except RequestError as exc:
            self._reply(exc.status, {"error": str(exc)})

    def _data(self, method, ns, parts, query, body):
        silent = query.get("print") == "silent"
        now_ms = int(time.time() * 1000)
        with self.database.lock:
            tree = self.database.tree(ns)
            current = _exported(tree.get(parts))
            etag = etag_of(current)
            if method == "GET":
                if self.headers.get("if-none-match") == etag:
                    return self._reply(304, raw=True, headers={"ETag": etag})
                value = current
                if query.get("shallow") == "true" and isinstance(current, dict):
                    value = {k: True if isinstance(v, (dict, list)) else v for k, v in current.items()}
                headers = {"ETag": etag} if self.headers.get("X-Firebase-ETag") == "true" else None
                return self._reply(200, value, headers=headers)
            if (expected := self.headers.get("if-match")) is not None and expected != etag:
                return self._reply(412, current, headers={"ETag": etag})
            if method == "PUT":
                tree.set(parts, _normalise(body, now_ms))
                result = _exported(tree.get(parts))
            elif method == "PATCH":
                if not isinstance(body, dict):
                    raise RequestError(400, "Invalid data; an update must be an object.")
                for key, value in body.items():
                    tree.set(parts + _segments(key), _normalise(value, now_ms))
                result = body
            elif method == "POST":
                name = _push_id()
                tree.set(parts + [name], _normalise(body, now_ms))
                result = {"name": name}
            else:
                tree.set(parts, None)
                result = None
            new_etag = etag_of(_exported(tree.get(parts)))
        if silent:
            return self._reply(204, raw=True, headers={"ETag": new_etag})
        return self._reply(200, result, headers={"ETag": new_etag})

    def _control(self, method, path):
        db = self.database
        if path == "/.standin/fault" and method == "PUT":
            fault = self._body() or {}
            if not isinstance(fault.get("status"), int):
                raise RequestError(400, 'Send {"status": 503, "times": N}; times may be left out.')
            with db.lock:
                db.fault = {"status": fault["status"], "times": fault.get("times")}
            return self._reply(200, db.fault)
        if path == "/.standin/fault" and method == "DELETE":
            with db.lock:
                db.fault = None
            return self._reply(200, None)
        if path == "/.standin/requests" and method in {"GET", "DELETE"}:
            with db.lock:
                log = list(db.requests)
                if method == "DELETE":
                    db.requests.clear()
            return self._reply(200, log)
        if path == "/.standin/data" and method == "DELETE":
            with db.lock:
                db.trees.clear()
            return self._reply(200, None)
        if path == "/.standin/ready" and method == "GET":
            return self._reply(200, "ready")
        raise RequestError(404, "No such stand-in control path.")


def serve(port, host="127.0.0.1"):
    handler = type("BoundHandler", (Handler,), {"database": Database()})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


class RtdbServer(LocalServer):
    """The stand-in as a child process on its own port, stopped by PID."""

    name = "rtdb-standin"
    cwd = Path(__file__).resolve().parent.parent

    @property
    def host(self):
        return f"127.0.0.1:{self.port}"

    def command(self, tmp):
        return [sys.executable, "-m", "devstack.rtdb", "--port", self.port]

    def ready(self):
        return http_body(f"http://{self.host}/.standin/ready") is not None

    def _control(self, method, path, body=None):
        return json_request(method, f"http://{self.host}/.standin/{path}", body)

    def fail(self, status=503, times=None):
        """Make the next data requests (all, or only `times` of them) fail with `status`."""
        self._control("PUT", "fault", {"status": status, "times": times})

    def heal(self):
        self._control("DELETE", "fault")

    def reset(self):
        """No data, no fault, no request log."""
        self._control("DELETE", "data")
        self.heal()
        self.requests(clear=True)

    def requests(self, *, clear=False):
        """[(method, path, ns)] of every data request since the last clear."""
        return [tuple(r) for r in self._control("DELETE" if clear else "GET", "requests")]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m devstack.rtdb", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    args = parser.parse_args(argv)
    return serve_in_foreground(serve(args.port, args.host), "rtdb stand-in")


if __name__ == "__main__":
    sys.exit(main())
