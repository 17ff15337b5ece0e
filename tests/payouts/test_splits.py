"""A mixed order splits exactly as its rules say, the version used is kept with it, and a bad rule changes
nothing."""
import pytest

from app.seed import DEMO_EVENT_ID, seed_demo
from tests.conftest import sign_in
from tests.orders.conftest import error

TAX_RATES = {"ticket": {"basis_points": 700, "inclusive": True},
             "parking": {"basis_points": 1900, "inclusive": False},
             "food": {"basis_points": 700, "inclusive": False}}


def save_rule(payouts, **rule):
    response = payouts.client.post("/api/v1/payouts/split-rules", json=rule, headers=payouts.admin.headers)
    assert response.status_code == 201, response.json
    return response.json


def by_party(splits):
    return {p["party"]: (p["gross"], p["fee"], p["tips"], p["net"], p["share_basis_points"])
            for p in splits["parties"]}


@pytest.fixture
def mixed(payouts):
    """Tickets with a 1.50 service fee and 7% tax inside, parking with 19% on top, a stand's food with 7% on
    top; an event rule for tickets, a platform rule for parking, the built-in default for food."""
    shop = payouts.shop
    assert payouts.client.patch(f"/api/v1/venues/{shop.sale.event['venue_id']}", json={"tax_rates": TAX_RATES},
                                headers=payouts.venue_owner.headers).status_code == 200
    assert payouts.client.patch(f"/api/v1/events/{shop.id}/ticket-types/{shop.sale.general['id']}",
                                json={"service_fee": 150}, headers=shop.owner.headers).status_code == 200
    save_rule(payouts, kind="ticket", event_id=shop.id, fee_basis_points=500, fee_fixed=30,
              shares=[{"party": "organizer", "basis_points": 9000}, {"party": "venue", "basis_points": 1000}])
    save_rule(payouts, kind="parking", fee_basis_points=300, shares=[{"party": "venue", "basis_points": 10000}])
    return payouts


def test_a_mixed_order_splits_exactly_as_its_rules_say(mixed, make_user):
    buyer = make_user()
    order = mixed.stripe_paid(buyer, 2, lines=[{"kind": "parking", "quantity": 1}, {"kind": "snack", "quantity": 2}],
                              tip=300)
    # 2 x (25.00 + 1.50 fee) + 12.00 + 2.28 tax + 2 x 4.50 + 0.63 tax + 3.00 tip
    assert order["total"] == 7991
    splits = mixed.splits(order["id"])
    assert splits["captured"] == 7991 and splits["collected_by"] == "platform"
    organizer, venue = mixed.organizer_party, mixed.venue_party
    # Each ticket: fee 5% of its price before tax and service fee (26.50 - 1.64 or 1.63 tax - 1.50) + 0.30 = 1.47;
    # the rest 90/10. Parking: 3% of 12.00. Food: the default 5% of 4.50, all to the venue, tips too.
    assert by_party(splits) == {organizer: (4770, 264, 0, 4506, 5639), venue: (2921, 112, 300, 3109, 3891)}
    assert (splits["platform_fee"], splits["platform_share_basis_points"]) == (376, 470)
    assert sum(p["net"] for p in splits["parties"]) + splits["platform_fee"] == order["total"]
    tickets = [u for u in splits["units"] if u["kind"] == "ticket"]
    assert [(u["platform_fee"], {p["party"]: p["gross"] for p in u["parts"]}) for u in tickets] == [
        (147, {organizer: 2385, venue: 265})] * 2
    snacks = [u for u in splits["units"] if u["kind"] == "snack"]
    assert [(u["amount"], u["platform_fee"], u["parts"]) for u in snacks] == [
        (632, 23, [{"party": venue, "gross": 482, "fee": 23, "tips": 150}]),
        (631, 23, [{"party": venue, "gross": 481, "fee": 23, "tips": 150}])]
    used = {r["kind"]: (r["id"], r["version"]) for r in splits["rules"]}
    assert used == {"ticket": (f"event:{mixed.shop.id}:ticket", 1), "parking": ("platform:parking", 1),
                    "snack": ("default:snack", 0)}
    # The ledger books the same parts.
    entries = mixed.ledger(order_id=order["id"])
    assert sum(e["amount"] for e in entries) == 0
    held = {(e["movement"], e["party"]): e["amount"] for e in entries if e["account"] == "held"}
    assert held[("charge", organizer)] == 4770 and held[("platform_fee", venue)] == -112


def test_a_changed_rule_is_a_new_version_and_an_order_keeps_the_one_it_used(mixed, make_user):
    # The event's rule is the most specific; the venue's and the platform's apply where it does not.
    save_rule(mixed, kind="ticket", fee_basis_points=700, shares=[{"party": "organizer", "basis_points": 10000}])
    save_rule(mixed, kind="ticket", venue_id=mixed.shop.sale.event["venue_id"], fee_basis_points=600,
              shares=[{"party": "organizer", "basis_points": 10000}])
    first = mixed.stripe_paid(make_user(), 1)
    changed = save_rule(mixed, kind="ticket", event_id=mixed.shop.id, fee_basis_points=1000,
                        shares=[{"party": "organizer", "basis_points": 10000}])
    assert changed["version"] == 2
    second = mixed.stripe_paid(make_user(), 1)
    assert [r["version"] for r in mixed.splits(first["id"])["rules"]] == [1]
    assert [(r["version"], r["fee_basis_points"]) for r in mixed.splits(second["id"])["rules"]] == [(2, 1000)]
    assert by_party(mixed.splits(first["id"]))[mixed.venue_party][0] == 265
    assert mixed.venue_party not in by_party(mixed.splits(second["id"]))

    effective = mixed.client.get(f"/api/v1/events/{mixed.shop.id}/split-rules", headers=mixed.shop.owner.headers)
    assert {r["kind"]: r["version"] for r in effective.json} == {"ticket": 2, "parking": 1, "snack": 0, "concession": 0}
    assert mixed.client.delete(f"/api/v1/payouts/split-rules/event:{mixed.shop.id}:ticket",
                               headers=mixed.admin.headers).status_code == 204
    effective = mixed.client.get(f"/api/v1/events/{mixed.shop.id}/split-rules", headers=mixed.venue_owner.headers)
    venue_rule = f"venue:{mixed.shop.sale.event['venue_id']}:ticket"
    assert {r["kind"]: r["id"] for r in effective.json}["ticket"] == venue_rule
    deleted = mixed.client.delete(f"/api/v1/payouts/split-rules/{venue_rule}", headers=mixed.admin.headers)
    assert deleted.status_code == 204
    effective = mixed.client.get(f"/api/v1/events/{mixed.shop.id}/split-rules", headers=mixed.venue_owner.headers)
    assert {r["kind"]: (r["id"], r["fee_basis_points"]) for r in effective.json}["ticket"] == ("platform:ticket", 700)


@pytest.mark.parametrize("rule, field", [
    ({"shares": [{"party": "organizer", "basis_points": 9000}, {"party": "venue", "basis_points": 500}]}, "shares"),
    ({"shares": [{"party": "organizer", "basis_points": 5000}, {"party": "organizer", "basis_points": 5000}]},
     "shares"),
    ({"shares": [{"party": "caterer", "basis_points": 10000}]}, "shares"),
    ({"shares": [{"party": "venue", "basis_points": 10000}], "tips_to": "nobody"}, "tips_to"),
    ({"shares": [{"party": "venue", "basis_points": 10000}], "venue_id": "nosuchvenue"}, "venue_id"),
    ({"shares": [{"party": "venue", "basis_points": 10000}], "fee_basis_points": 10001}, "fee_basis_points"),
])
def test_a_rule_whose_shares_do_not_add_up_is_refused_and_changes_nothing(payouts, snapshot, rule, field):
    before = snapshot()
    response = payouts.client.post("/api/v1/payouts/split-rules", json={"kind": "ticket", **rule},
                                   headers=payouts.admin.headers)
    assert error(response) == (422, "validation_error")
    assert field in response.json["error"]["details"]["fields"]
    assert snapshot() == before


def test_an_order_paid_at_the_box_office_is_split_but_not_booked(payouts, make_user):
    order = payouts.shop.paid(make_user(), 2)
    splits = payouts.splits(order["id"], payouts.shop.owner)
    assert splits["collected_by"] == "box_office"
    assert by_party(splits) == {payouts.organizer_party: (5000, 250, 0, 4750, 9500)}
    assert payouts.ledger(order_id=order["id"]) == [] and payouts.transfers_of(order["id"]) == {}


def test_the_demo_event_splits_its_tickets_90_10_and_seeding_again_adds_no_version(app, client, stack):
    with app.app_context():
        seed_demo()
        seed_demo()
    token = sign_in(stack, "organizer@boxoffice.test", "organizer-pass-123")["idToken"]
    rules = client.get(f"/api/v1/events/{DEMO_EVENT_ID}/split-rules", headers={"Authorization": f"Bearer {token}"})
    ticket = next(r for r in rules.json if r["kind"] == "ticket")
    assert (ticket["version"], ticket["fee_basis_points"], ticket["fee_fixed"]) == (1, 500, 30)
    assert [(s["party"], s["basis_points"]) for s in ticket["shares"]] == [("organizer", 9000), ("venue", 1000)]
