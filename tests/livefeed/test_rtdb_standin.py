"""The stand-in answers firebase_admin.db the way the Realtime Database does, and refuses what it cannot do."""
import pytest
import requests

from app.firebase import FirebaseError, rtdb


@pytest.fixture
def root(app):
    with app.app_context():
        yield rtdb("/")


def test_writes_follow_the_databases_rules_for_nulls_arrays_and_server_time(root):
    root.child("a").set({"list": [1, 2], "gone": None, "empty": {}, "at": {".sv": "timestamp"}})
    value = root.child("a").get()
    assert value["list"] == [1, 2] and "gone" not in value and "empty" not in value
    assert isinstance(value["at"], int)
    root.child("a").update({"list/0": None, "b/c": 1})
    assert root.child("a/list").get() == {"1": 2}
    assert root.child("a/b").get() == {"c": 1}
    root.child("a").delete()
    assert root.get() is None


def test_etags_make_transactions_and_conditional_writes_work(root):
    root.child("n").set(1)
    assert root.child("n").transaction(lambda current: current + 1) == 2
    _, etag = root.child("n").get(etag=True)
    root.child("n").set(5)
    ok, value, _ = root.child("n").set_if_unchanged(etag, 9)
    assert (ok, value) == (False, 5)


def test_only_the_admin_credential_is_let_in(rtdb_server):
    url = f"http://{rtdb_server.host}/live.json?ns=x"
    assert requests.get(url, timeout=5).status_code == 401
    assert requests.get(url, headers={"Authorization": "Bearer owner"}, timeout=5).status_code == 200


def test_queries_are_refused_rather_than_answered_wrongly(root):
    with pytest.raises(FirebaseError):
        root.child("live").order_by_child("state").equal_to("active").get()


def test_an_injected_fault_fails_the_next_requests_then_clears(root, rtdb_server):
    rtdb_server.fail(502, times=1)
    with pytest.raises(FirebaseError):
        root.child("x").set(1)
    root.child("x").set(2)
    assert root.child("x").get() == 2
