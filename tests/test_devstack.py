"""The local stack tooling against real emulator and redis processes.

The Auth emulator takes about 10 s to start, so the whole module starts a Stack twice: once to write
data and stop (checking nothing is left running), once more on the same data_dir (checking the data
came back); the other tests share the second one.
"""

import json
import os
import re
import socket
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from devstack import DevstackError, RedisServer, Stack, free_port
from devstack.procs import group_members
from devstack.stack import FIREBASE_TOOLS_VERSION

PROJECT = "demo-devstack-test"


def call(method, url, body=None):
    # "Bearer owner" is the emulators' admin credential: it bypasses firestore.rules.
    req = urllib.request.Request(
        url,
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={"Content-Type": "application/json", "Authorization": "Bearer owner"},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read() or b"{}")


def doc_url(stack, path):
    return f"http://{stack.firestore_host}/v1/projects/{PROJECT}/databases/(default)/documents/{path}"


def write_doc(stack, collection, doc_id, n):
    call("POST", f"{doc_url(stack, collection)}?documentId={doc_id}", {"fields": {"n": {"integerValue": str(n)}}})


def read_doc(stack, path):
    """The document's n, or None when it does not exist."""
    try:
        return int(call("GET", doc_url(stack, path))["fields"]["n"]["integerValue"])
    except urllib.error.HTTPError as e:
        if e.code == 404:
            return None
        raise


def sign_up(stack, email):
    url = f"http://{stack.auth_host}/identitytoolkit.googleapis.com/v1/accounts:signUp?key=any"
    return call("POST", url, {"email": email, "password": "secret-123", "returnSecureToken": True})["localId"]


def account_emails(stack):
    url = f"http://{stack.auth_host}/identitytoolkit.googleapis.com/v1/projects/{PROJECT}/accounts:batchGet"
    return [user["email"] for user in call("GET", url).get("users", [])]


def is_running(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture(scope="module")
def restarted(tmp_path_factory):
    """Run a stack with a data_dir, stop it, start a new one on the same data_dir. Yields the second
    stack and what was observed, so the tests below do not depend on their order."""
    data_dir = tmp_path_factory.mktemp("emulator-data")
    first = Stack(PROJECT, data_dir=data_dir, log_dir=tmp_path_factory.mktemp("logs")).start()
    try:
        write_doc(first, "things", "kept", 7)
        uid = sign_up(first, "kept@example.com")
        pids = first.pids
    finally:
        first.stop()
    observed = {
        "pids": pids,
        "running": [pid for pid in pids.values() if is_running(pid)],
        "group_members": {pid: group_members(pid) for pid in pids.values()},
        "uid": uid,
    }
    with Stack(PROJECT, data_dir=data_dir) as second:
        observed["doc"] = read_doc(second, "things/kept")
        observed["emails"] = account_emails(second)
        yield second, observed


def test_stop_leaves_no_process(restarted):
    _, observed = restarted
    assert set(observed["pids"]) == {"firestore", "auth"}
    assert observed["running"] == []
    assert all(members == [] for members in observed["group_members"].values())


def test_data_survives_restart(restarted):
    _, observed = restarted
    assert observed["doc"] == 7
    assert "kept@example.com" in observed["emails"]


def test_env_points_at_the_running_emulators(restarted):
    stack, _ = restarted
    assert stack.env == {
        "FIRESTORE_EMULATOR_HOST": stack.firestore_host,
        "FIREBASE_AUTH_EMULATOR_HOST": stack.auth_host,
        "GCLOUD_PROJECT": PROJECT,
        "FIREBASE_PROJECT_ID": PROJECT,
    }
    write_doc(stack, "things", "x", 1)
    assert read_doc(stack, "things/x") == 1
    assert sign_up(stack, "env@example.com")


def test_reset_wipes_documents_and_accounts(restarted):
    stack, _ = restarted
    write_doc(stack, "things", "gone", 1)
    sign_up(stack, "gone@example.com")
    stack.reset()
    assert read_doc(stack, "things/gone") is None
    assert account_emails(stack) == []


def test_start_refuses_a_port_in_use():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        stack = Stack(PROJECT, ports={"firestore": port})
        with pytest.raises(DevstackError, match=f"{port} \\(Firestore emulator\\)"):
            stack.start()
    assert stack.pids == {}


def test_from_firebase_json_reads_the_emulator_ports():
    stack = Stack.from_firebase_json(Path(__file__).parent.parent / "firebase.json", PROJECT)
    assert stack.ports == {"firestore": 8080, "auth": 9099, "hub": 4400, "logging": 4500}


def test_bootstrap_installs_the_firebase_tools_version_the_stack_runs():
    script = (Path(__file__).parent.parent / "devstack" / "bootstrap.sh").read_text()
    assert re.search(r"^FIREBASE_TOOLS_VERSION=(\S+)", script, re.M).group(1) == FIREBASE_TOOLS_VERSION


def test_redis_server_answers_ping_and_stops():
    port = free_port()
    with RedisServer(port=port) as redis:
        assert redis.url == f"redis://127.0.0.1:{port}/0"
        pid = redis.pid
        with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
            conn.sendall(b"PING\r\n")
            assert conn.recv(16) == b"+PONG\r\n"
    assert not is_running(pid)
    assert group_members(pid) == []
