"""Discount codes cannot be guessed: long codes, one answer for every code that cannot be used, guesses limited."""
from datetime import timedelta

import pytest
import time_machine

from app.timeutil import utcnow


@pytest.fixture
def app(make_app):
    return make_app(DISCOUNT_GUESSES_PER_BUYER=3, DISCOUNT_GUESSES_PER_EVENT=5, MAX_ACTIVE_HOLDS_PER_EVENT=100)


def answer(response):
    body = response.json
    return response.status_code, body["error"]["code"] if response.status_code >= 400 else body["state"]


def order(shop, buyer, code):
    return shop.order(buyer, shop.hold(buyer)["id"], code=code)


def test_every_code_that_cannot_be_used_gets_the_same_answer(make_shop, make_user, make_ticket_type):
    shop = make_shop(capacity=10)
    buyer = make_user()
    now = utcnow()
    vip = make_ticket_type(shop.owner, shop.sale.event, name="VIP", price=9000, capacity=5)
    shop.add_discount(code="STARTS-TOMORROW", kind="percent", percent_off=5,
                      valid_from=(now + timedelta(days=1)).isoformat())
    shop.add_discount(code="ENDED-ALREADY", kind="percent", percent_off=5,
                      valid_from=(now - timedelta(days=2)).isoformat(), valid_until=(now - timedelta(days=1)).isoformat())
    shop.add_discount(code="USED-UP-CODE", kind="percent", percent_off=5, max_redemptions=1)
    shop.add_discount(code="VIP-TICKETS-ONLY", kind="percent", percent_off=5, ticket_type_ids=[vip["id"]])
    shop.add_discount(code="WITHDRAWN-CODE", kind="percent", percent_off=5)
    assert shop.client.delete(f"/api/v1/events/{shop.id}/discounts/WITHDRAWN-CODE",
                              headers=shop.owner.headers).status_code == 204
    assert shop.buy(make_user(), code="USED-UP-CODE")["discount"] > 0

    answers = {code: order(shop, buyer, code).json["error"] for code in (
        "NO-SUCH-CODE", "STARTS-TOMORROW", "ENDED-ALREADY", "USED-UP-CODE", "VIP-TICKETS-ONLY", "WITHDRAWN-CODE")}
    first = answers["NO-SUCH-CODE"]
    assert first["code"] == "discount_invalid" and first["details"] == {}
    assert all({k: v for k, v in a.items() if k != "request_id"} == {k: v for k, v in first.items()
                                                                     if k != "request_id"} for a in answers.values())


def test_a_buyer_who_keeps_guessing_is_stopped_until_the_window_ends(make_shop, make_user):
    shop = make_shop(capacity=20)
    guesser, other = make_user(), make_user()
    shop.add_discount(code="REAL-CODE-2030", kind="percent", percent_off=10)
    assert [answer(order(shop, guesser, f"GUESS-{n:04d}")) for n in range(3)] == [(422, "discount_invalid")] * 3
    stopped = order(shop, guesser, "REAL-CODE-2030")
    assert answer(stopped) == (429, "too_many_discount_guesses")
    assert 0 < int(stopped.headers["Retry-After"]) <= 900
    # The guesser still buys without a code, and other buyers still use theirs.
    assert answer(shop.order(guesser, shop.hold(guesser)["id"])) == (201, "pending_payment")
    assert answer(order(shop, other, "REAL-CODE-2030")) == (201, "pending_payment")
    with time_machine.travel(utcnow() + timedelta(seconds=901), tick=True):
        assert answer(order(shop, guesser, "REAL-CODE-2030")) == (201, "pending_payment")


def test_guesses_from_many_accounts_are_limited_per_event(make_shop, make_user):
    shop, elsewhere = make_shop(capacity=20), make_shop(capacity=5)
    shop.add_discount(code="REAL-CODE-2030", kind="percent", percent_off=10)
    elsewhere.add_discount(code="OTHER-EVENT-CODE", kind="percent", percent_off=10)
    for n in range(5):
        assert answer(order(shop, make_user(), f"GUESS-{n:04d}")) == (422, "discount_invalid")
    assert answer(order(shop, make_user(), "REAL-CODE-2030")) == (429, "too_many_discount_guesses")
    assert answer(order(elsewhere, make_user(), "OTHER-EVENT-CODE")) == (201, "pending_payment")


def test_a_code_that_ran_out_is_no_guess(make_shop, make_user):
    # A popular code used up at an on-sale must not lock the event's buyers out of discounts.
    shop = make_shop(capacity=20)
    shop.add_discount(code="FIRST-ONE-ONLY", kind="percent", percent_off=10, max_redemptions=1)
    shop.add_discount(code="REAL-CODE-2030", kind="percent", percent_off=10)
    shop.buy(make_user(), code="FIRST-ONE-ONLY")
    buyer = make_user()
    for _ in range(6):
        assert answer(order(shop, buyer, "FIRST-ONE-ONLY")) == (422, "discount_invalid")
    assert answer(order(shop, buyer, "REAL-CODE-2030")) == (201, "pending_payment")


@pytest.mark.parametrize("code", ["VIP", "SAVE10", "SEVEN77"])
def test_codes_are_at_least_eight_characters(make_shop, make_user, code):
    shop = make_shop()
    created = shop.client.post(f"/api/v1/events/{shop.id}/discounts", headers=shop.owner.headers,
                               json={"code": code, "kind": "percent", "percent_off": 10})
    assert created.status_code == 422 and "code" in created.json["error"]["details"]["fields"]
    used = order(shop, make_user(), code)
    assert used.status_code == 422 and "discount_code" in used.json["error"]["details"]["fields"]
