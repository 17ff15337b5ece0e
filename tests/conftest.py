"""Fixtures: the real Firestore and Auth emulators for the whole run, a fresh app per test.

The emulators start once per test session on free ports (so a running
``make run`` never clashes) and are stopped by their own PIDs when the session
ends, also when a test fails. Each test starts from empty data.
"""
import itertools
import os
from dataclasses import dataclass

import pytest
import requests

from app import create_app
from app.auth import Role
from app.config import TestingConfig
from devstack import Stack

pytest_plugins = ["tests.factories", "tests.mailbox", "tests.concessions.factories"]

PROJECT_ID = "demo-boxoffice-test"
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
