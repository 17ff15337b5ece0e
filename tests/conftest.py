"""Fixtures: the real Firestore and Auth emulators for the whole run, a fresh app per test.

The emulators start once per test session on free ports (so a running
``make run`` never clashes) and are stopped by their own PIDs when the session
ends, also when a test fails. Each test starts from empty data.
"""
import itertools
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from app import create_app
from app.auth import Role
from app.config import TestingConfig
from devstack import Stack

pytest_plugins = ["tests.factories", "tests.mailbox", "tests.concessions.factories", "tests.fuzz_report"]

PROJECT_ID = "demo-boxoffice-test"
ROOT = Path(__file__).resolve().parent.parent
_emails = itertools.count(1)


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    logs = tmp_path_factory.mktemp("emulator-logs")
    with Stack(project_id=PROJECT_ID, log_dir=logs) as running:
        saved = {key: os.environ.get(key) for key in running.env}
        os.environ.update(running.env)
        os.environ["FIREBASE_PROJECT_ID"] = PROJECT_ID
        yield running
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture
def make_app(stack, tmp_path):
    """Build an app on the emulators with TestingConfig plus overrides."""

    def build(**overrides):
        overrides.setdefault("LOG_DIR", str(tmp_path / "logs"))
        overrides.setdefault("FIREBASE_PROJECT_ID", PROJECT_ID)
        return create_app(TestingConfig(**overrides))

    stack.reset()
    return build


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@dataclass
class TestUser:
    uid: str
    email: str
    password: str
    role: Role
    id_token: str
    refresh_token: str

    @property
    def headers(self):
        return {"Authorization": f"Bearer {self.id_token}"}


def sign_in(stack, email, password):
    response = requests.post(
        f"http://{stack.auth_host}/identitytoolkit.googleapis.com/v1/accounts:signInWithPassword",
        params={"key": "test"}, json={"email": email, "password": password, "returnSecureToken": True},
        timeout=10,
    )
    response.raise_for_status()
    return response.json()


@pytest.fixture
def make_user(app, stack):
    """Create an Auth-emulator user with a role and return it signed in."""
    firebase = app.extensions["firebase"]

    def build(role=Role.CUSTOMER, email=None, password="secret-pass-1"):
        email = email or f"user{next(_emails)}-{role}@example.test"
        account = firebase.create_user(email=email, password=password)
        if role != Role.CUSTOMER:
            firebase.set_custom_claims(account.uid, {"role": str(role)})
        session = sign_in(stack, email, password)
        return TestUser(account.uid, email, password, Role(role), session["idToken"], session["refreshToken"])

    return build


@pytest.fixture
def snapshot(stack):
    """Every Firestore document (path -> update time) and every Auth account: what a request could change."""
    def take():
        documents = requests.post(
            f"http://{stack.firestore_host}/v1/projects/{stack.project_id}/databases/(default)/documents:runQuery",
            json={"structuredQuery": {"from": [{"allDescendants": True}]}},
            headers={"Authorization": "Bearer owner"}, timeout=30)
        documents.raise_for_status()
        accounts = requests.post(
            f"http://{stack.auth_host}/identitytoolkit.googleapis.com/v1/projects/{stack.project_id}/accounts:query",
            json={"returnUserInfo": True}, headers={"Authorization": "Bearer owner"}, timeout=30)
        accounts.raise_for_status()
        state = {row["document"]["name"].split("/documents/", 1)[1]: row["document"]["updateTime"]
                 for row in documents.json() if "document" in row}
        state.update({f"auth:{user['localId']}": user.get("lastRefreshAt") or user.get("createdAt")
                      for user in accounts.json().get("userInfo", [])})
        return state

    return take


def sent_code(stack, verification_id):
    """The code the Auth emulator texted for a verification, from its REST API."""
    response = requests.get(f"http://{stack.auth_host}/emulator/v1/projects/{PROJECT_ID}/verificationCodes",
                            timeout=10)
    response.raise_for_status()
    return next(c["code"] for c in response.json()["verificationCodes"] if c["sessionInfo"] == verification_id)


@pytest.fixture
def verify_phone(client, stack):
    """Verify a number for a user as a person would: ask for a code, read it off the "phone", send it back."""

    def verify(user, phone):
        asked = client.post("/api/v1/users/me/phone", json={"phone": phone}, headers=user.headers)
        assert asked.status_code == 202, asked.json
        code = sent_code(stack, asked.json["verification_id"])
        done = client.post("/api/v1/users/me/phone/verify", headers=user.headers,
                           json={"verification_id": asked.json["verification_id"], "code": code})
        assert done.status_code == 200, done.json
        return done.json

    return verify


def wait_for(predicate, timeout=20.0, interval=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met within %.0f s" % timeout)


@pytest.fixture
def start_scheduler(app, tmp_path):
    """Start ``python scheduler.py`` processes (with extra environment); each is killed by its PID afterwards."""
    processes = []

    def start(**extra_env):
        env = {**os.environ, "APP_ENV": "testing", "SCHEDULER_HEARTBEAT_SECONDS": "1",
               "OUTBOX_DELIVERY_SECONDS": "2",
               "LOG_DIR": str(tmp_path / f"scheduler-{len(processes)}"), **extra_env}
        stderr = open(tmp_path / f"scheduler-{len(processes)}.stderr", "w")
        proc = subprocess.Popen([sys.executable, "scheduler.py"], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=stderr)
        stderr.close()
        processes.append(proc)
        return proc

    yield start
    for proc in processes:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
