"""Child processes that never outlive us, ports, and waiting for servers."""

import atexit
import ctypes
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

PR_SET_PDEATHSIG = 1


class DevstackError(RuntimeError):
    """A local service could not be started or used; the message says why."""


def free_ports(count):
    """Ports free on 127.0.0.1 right now, all distinct (sockets are held until every port is chosen)."""
    socks = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def free_port():
    return free_ports(1)[0]


def port_is_free(port):
    # SO_REUSEADDR so a port in TIME_WAIT after a recent restart counts as free; a listener still does not.
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def check_ports_free(ports):
    """ports: {description: port}. Raises DevstackError naming every port already in use."""
    busy = [f"{port} ({what})" for what, port in ports.items() if not port_is_free(port)]
    if busy:
        raise DevstackError(
            f"port already in use: {', '.join(busy)}. Stop whatever listens there (`ss -ltnp` shows it; "
            "another `make run`?) or choose other ports."
        )


# Looked up before any fork: loading a library in the forked child could deadlock.
_prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None


def _die_with_parent_hook():
    """A preexec_fn asking the kernel to SIGTERM the child when the thread that forked it dies, so a
    SIGKILLed runner cannot leave a stray Java or Node process. Spawn from a long-lived thread."""
    if _prctl is None:
        return None
    parent = os.getpid()

    def hook():
        _prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os.kill(os.getpid(), signal.SIGTERM)

    return hook


def spawn(cmd, *, log=None, env=None, cwd=None):
    """Start cmd in its own session (a terminal Ctrl-C reaches only our runner, which stops children
    in order). Output goes to the file object log, or to our own stdout/stderr when log is None."""
    return subprocess.Popen(
        [str(c) for c in cmd],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT if log else None,
        env=env,
        cwd=cwd,
        start_new_session=True,
        preexec_fn=_die_with_parent_hook(),
    )


def stop_process(proc, *, sig=signal.SIGTERM, timeout=10.0):
    """Signal proc, wait up to timeout, then SIGKILL its process group. Afterwards nothing is left in
    that group either (the group id is proc's own pid, from start_new_session)."""
    if proc.poll() is None:
        try:
            proc.send_signal(sig)
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc.pid)
            proc.wait()
    _kill_group(proc.pid)


def _kill_group(pgid):
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        return
    # SIGKILL is delivered asynchronously; return only once the group is really gone.
    deadline = time.monotonic() + 5
    while Path("/proc").is_dir() and group_members(pgid) and time.monotonic() < deadline:
        time.sleep(0.05)


def group_members(pgid):
    """PIDs whose process group is pgid (Linux /proc); used to prove nothing was left behind."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # After the command name: state, ppid, pgrp.
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


def http_body(url, timeout=1.0):
    """The body of a successful GET, or None while nothing (or an error) answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.read().decode(errors="replace")
    except (OSError, http.client.HTTPException):
        return None


def json_request(method, url, body=None, timeout=10):
    """A JSON request to a stand-in's control path; its decoded answer."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read() or b"null")


def serve_in_foreground(server, label):
    """A stand-in's ``main``: serve until Ctrl-C (a SIGTERM from its parent ends the process as usual)."""
    host, port = server.server_address[:2]
    print(f"{label} listening on {host}:{port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def log_tail(path, start=0, lines=30):
    try:
        with open(path, "rb") as f:
            f.seek(start)
            text = f.read().decode(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(log is empty)"


class Child:
    """One server process: its log file, how to tell it is ready, and how to stop it."""

    def __init__(self, name, probe, *, stop_signal=signal.SIGTERM, stop_timeout=10.0):
        self.name = name
        self.probe = probe
        self.stop_signal = stop_signal
        self.stop_timeout = stop_timeout
        self.proc = None

    def start(self, cmd, log_dir, *, env=None, cwd=None):
        self.log_path = Path(log_dir) / f"{self.name}.log"
        # Append, and remember where this run starts, so a shared log_dir never loses another run's log.
        with open(self.log_path, "ab") as log:
            self.log_start = log.tell()
            self.proc = spawn(cmd, log=log, env=env, cwd=cwd)

    @property
    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        # Forget the process once stopped: signalling its pid or group again could hit a reused pid.
        if self.proc is not None:
            stop_process(self.proc, sig=self.stop_signal, timeout=self.stop_timeout)
            self.proc = None

    def failure(self, what):
        return DevstackError(f"{self.name} {what}; log {self.log_path}:\n{log_tail(self.log_path, self.log_start)}")


def wait_ready(children, timeout):
    """Poll every child until its probe() is true; raise DevstackError for the first that dies or times out."""
    deadline = time.monotonic() + timeout
    pending = list(children)
    while pending:
        for child in list(pending):
            if child.probe():
                pending.remove(child)
            elif not child.alive:
                raise child.failure(f"exited with code {child.proc.returncode} while starting")
        if pending and time.monotonic() > deadline:
            raise pending[0].failure(f"did not answer within {timeout:.0f} s")
        if pending:
            time.sleep(0.1)


class LocalServer:
    """One server as a child process on its own loopback port, with a private temporary folder.

    Subclasses name it, say how to start it (``command``) and how to tell it answers (``ready``).
    """

    name = "server"
    cwd = None

    def __init__(self, port=None, log_dir=None):
        self.port = port or free_port()
        self.log_dir = Path(log_dir) if log_dir else None
        self._child = Child(self.name, self.ready)
        self._tmp = None

    @property
    def pid(self):
        return self._child.proc.pid if self._child.proc else None

    def command(self, tmp):
        raise NotImplementedError

    def ready(self):
        raise NotImplementedError

    def start(self, timeout=10):
        if self._tmp:
            return self
        self._tmp = Path(tempfile.mkdtemp(prefix=f"devstack-{self.name}-"))
        atexit.register(self.stop)
        log_dir = self.log_dir or self._tmp
        try:
            log_dir.mkdir(parents=True, exist_ok=True)
            self._child.start(self.command(self._tmp), log_dir, cwd=self.cwd)
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
