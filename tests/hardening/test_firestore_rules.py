"""firestore.rules, enforced by the emulator the session started with the repo's rules.

Clients talk to Firestore's REST API the way an app with the Firebase SDK
would: anonymously, or with an end user's ID token from the Auth emulator
(the Firestore emulator reads its claims without checking a signature). Every
collection the app uses — those a full journey filled, found by listing the
database, and every name the code passes to ``.collection()`` — must refuse
them reads and writes, while the admin credential (``Bearer owner``, which
bypasses rules) reads the same documents: so what refuses is the rules.
"""
import ast
import importlib
from pathlib import Path

import pytest
import requests

APP = Path(__file__).resolve().parents[2] / "app"


def collection_names_in_code():
    """Every collection name the app's modules pass to .collection(), evaluated in the module's namespace."""
    names = set()
    for path in APP.rglob("*.py"):
        calls = [node for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.Call)
                 and isinstance(node.func, ast.Attribute) and node.func.attr == "collection" and node.args]
        if not calls:
            continue
        module = importlib.import_module(".".join(path.relative_to(APP.parent).with_suffix("").parts))
        for call in calls:
            try:
                names.add(eval(compile(ast.Expression(call.args[0]), str(path), "eval"), vars(module)))  # noqa: S307
            except NameError:
                continue  # a name computed at run time; the database listing still finds its collection
    return names


@pytest.fixture
def journey(world):
    """The world, plus an order, tickets, a discount and a device, where those endpoints exist."""
    world.seed_purchases()
    world.call("POST", "/users/me/devices", world.users["buyer"], {"token": "fcm-rules", "platform": "ios"},
               status=201)
    world.call("PATCH", "/users/me", world.users["buyer"], {"display_name": "Rules Reader"})
    return world


class Firestore:
    def __init__(self, stack):
        self.base = f"http://{stack.firestore_host}/v1/projects/{stack.project_id}/databases/(default)/documents"

    def request(self, method, path, token=None, **kwargs):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return requests.request(method, f"{self.base}/{path}", headers=headers, timeout=30, **kwargs)

    def all_documents(self):
        response = requests.post(f"{self.base}:runQuery", headers={"Authorization": "Bearer owner"}, timeout=30,
                                 json={"structuredQuery": {"from": [{"allDescendants": True}]}})
        response.raise_for_status()
        return [row["document"]["name"].split("/documents/", 1)[1] for row in response.json() if "document" in row]


def one_document_per_collection(paths):
    """{collection path pattern (ids only, e.g. events/*/ticket_types): one real document path}."""
    found = {}
    for path in sorted(paths):
        parts = path.split("/")
        pattern = "/".join(part if i % 2 == 0 else "*" for i, part in enumerate(parts[:-1]))
        found.setdefault(pattern, path)
    return found


def test_clients_can_neither_read_nor_write_any_collection(journey, stack):
    firestore = Firestore(stack)
    documents = one_document_per_collection(firestore.all_documents())
    used = {pattern.rsplit("/", 1)[-1] for pattern in documents}
    unfilled = collection_names_in_code() - used
    # A collection the journey did not fill is still checked, at a document that does not exist.
    targets = {**documents, **{name: f"{name}/rules-probe" for name in unfilled}}
    assert {"venues", "events", "users", "inventory_units"} <= used, documents
    # The strongest claims an end user can hold: an ID token of the API's own admin.
    clients = {"anonymous": None, "signed-in admin of the API": journey.users["admin"].id_token}
    allowed = []
    for pattern, path in sorted(targets.items()):
        collection = path.rsplit("/", 1)[0]
        admin_read = firestore.request("GET", path, "owner")
        assert admin_read.status_code == (200 if pattern in documents else 404), (path, admin_read.text[:200])
        for client, token in clients.items():
            attempts = {
                "get": firestore.request("GET", path, token),
                "list": firestore.request("GET", collection, token),
                "create": firestore.request("POST", collection, token, params={"documentId": "client-made"},
                                            json={"fields": {"x": {"stringValue": "client"}}}),
                "update": firestore.request("PATCH", path, token, json={"fields": {"x": {"stringValue": "client"}}}),
                "delete": firestore.request("DELETE", path, token),
            }
            allowed += [f"{client} {verb} {path}: {r.status_code}" for verb, r in attempts.items()
                        if r.status_code != 403 or "PERMISSION_DENIED" not in r.text]
    assert not allowed, "\n".join(allowed)
    assert firestore.all_documents() and "client-made" not in " ".join(firestore.all_documents())
    assert len(targets) >= 8, sorted(targets)
