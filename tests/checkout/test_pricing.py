"""Money arithmetic in integers: every part of every line and unit adds up to the total, to the minor unit."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.checkout.pricing import allocate, half_up, price


def line(line_id="l0", *, kind="ticket", quantity=1, unit_price=1000, category=None, fee=0, tips=False,
         catalog_id="t"):
    return {"id": line_id, "kind": kind, "name": line_id, "quantity": quantity, "unit_price": unit_price,
            "subtotal": unit_price * quantity, "catalog_id": catalog_id, "tax_category": category or kind,
            "fee_per_unit": fee, "takes_tips": tips, "details": {}, "claims": []}


@pytest.mark.parametrize("amount, weights", [
    (100, [1000, 1000, 1000]), (1, [1, 1, 1]), (0, [5, 7]), (999, [1, 2, 3, 4]), (7, [0, 0, 3]), (10, [0, 0]),
])
def test_allocation_is_exact_and_proportional(amount, weights):
    parts = allocate(amount, weights)
    assert sum(parts) == (amount if sum(weights) else 0)
    assert all(isinstance(p, int) for p in parts)
    for part, weight in zip(parts, weights):
        assert abs(part * sum(weights) - amount * weight) < sum(weights) or not sum(weights)


def test_half_up_rounds_halves_up_and_the_rest_to_the_nearest():
    assert [half_up(n, 2) for n in (1, 2, 3, 5)] == [1, 1, 2, 3]
    assert [half_up(n, 10) for n in (14, 15, 16)] == [1, 2, 2]


def test_a_percent_discount_rounds_half_up_and_the_units_add_up():
    lines, units, totals = price([line(quantity=3, unit_price=333)], discount={"kind": "percent", "percent_off": 15})
    assert totals == {"subtotal": 999, "discount": 150, "tax": 0, "service_fee": 0, "tip": 0, "total": 849}
    assert sorted(u["amount"] for u in units) == [283, 283, 283]
    assert lines[0]["discount"] == 150 and lines[0]["total"] == 849


def test_a_worked_example_with_tax_fees_a_code_and_a_tip():
    """Two tickets at 25.00 with a 1.50 booking fee and 7% tax included, one parking pass at 12.00 with 19% tax
    on top, two burgers at 8.50 at a stand that takes tips, 7% tax on top; a 10% code on tickets only; a 3.00
    tip."""
    rates = {"ticket": {"basis_points": 700, "inclusive": True},
             "parking": {"basis_points": 1900, "inclusive": False},
             "food": {"basis_points": 700, "inclusive": False}}
    cart = [line("l0", quantity=2, unit_price=2500, fee=150),
            line("l1", kind="parking", unit_price=1200, catalog_id="lot"),
            line("l2", kind="concession", quantity=2, unit_price=850, category="food", tips=True, catalog_id="b")]
    code = {"kind": "percent", "percent_off": 10, "kinds": ["ticket"]}
    lines, units, totals = price(cart, tax_rates=rates, discount=code, tip=300)
    tickets, parking, burgers = lines
    # Tickets: 50.00 - 10% = 45.00, of which 7/107 is tax: 2.94; plus two fees of 1.50.
    assert (tickets["discount"], tickets["tax"], tickets["tax_inclusive"], tickets["total"]) == (500, 294, True, 4800)
    # Parking: 12.00 + 19% = 14.28.
    assert (parking["tax"], parking["total"]) == (228, 1428)
    # Burgers: 17.00 + 7% (1.19) + the whole tip.
    assert (burgers["tax"], burgers["tip"], burgers["total"]) == (119, 300, 2119)
    assert totals == {"subtotal": 7900, "discount": 500, "tax": 294 + 228 + 119, "service_fee": 300, "tip": 300,
                      "total": 4800 + 1428 + 2119}
    assert totals["total"] == totals["subtotal"] - totals["discount"] + 228 + 119 + totals["service_fee"] + 300
    assert sum(u["amount"] for u in units) == totals["total"]


def test_a_tip_without_lines_that_take_tips_is_spread_over_everything():
    _, units, totals = price([line(quantity=2, unit_price=1000), line("l1", unit_price=0)], tip=101)
    assert [u["tip"] for u in units] == [51, 50, 0]
    assert totals["total"] == 2101


def test_a_fixed_discount_never_takes_more_than_the_eligible_lines_cost():
    _, units, totals = price([line(unit_price=500), line("l1", kind="parking", unit_price=800)],
                             discount={"kind": "fixed", "amount_off": 2000, "kinds": ["ticket"]})
    assert totals["discount"] == 500 and [u["amount"] for u in units] == [0, 800]


carts = st.lists(st.fixed_dictionaries({
    "quantity": st.integers(1, 4), "unit_price": st.integers(0, 100_000), "fee": st.integers(0, 500),
    "tips": st.booleans(), "category": st.sampled_from(["a", "b", "c"]),
    "kind": st.sampled_from(["ticket", "parking", "concession"]),
}), min_size=1, max_size=6)
rates = st.dictionaries(st.sampled_from(["a", "b"]), st.fixed_dictionaries({
    "basis_points": st.integers(0, 3000), "inclusive": st.booleans()}))
codes = st.one_of(st.none(), st.fixed_dictionaries({"kind": st.just("percent"), "percent_off": st.integers(1, 100)}),
                  st.fixed_dictionaries({"kind": st.just("fixed"), "amount_off": st.integers(1, 500_000),
                                         "kinds": st.sampled_from([None, ["ticket"], ["parking", "concession"]])}))


@settings(max_examples=300, deadline=None)
@given(cart=carts, tax_rates=rates, discount=codes, tip=st.integers(0, 50_000))
def test_every_part_adds_up_for_any_cart(cart, tax_rates, discount, tip):
    lines = [line(f"l{i}", kind=c["kind"], quantity=c["quantity"], unit_price=c["unit_price"], category=c["category"],
                  fee=c["fee"], tips=c["tips"]) for i, c in enumerate(cart)]
    priced, units, totals = price(lines, tax_rates=tax_rates, discount=discount, tip=tip)
    on_top = sum(p["tax"] for p in priced if not p["tax_inclusive"])
    assert totals["total"] == totals["subtotal"] - totals["discount"] + on_top + totals["service_fee"] + tip
    assert sum(u["amount"] for u in units) == totals["total"] == sum(p["total"] for p in priced)
    assert sum(u["discount"] for u in units) == totals["discount"] <= totals["subtotal"]
    assert sum(u["tip"] for u in units) == tip and sum(u["tax"] for u in units) == totals["tax"]
    assert all(u["amount"] >= 0 and isinstance(u["amount"], int) for u in units)
    assert len(units) == sum(c["quantity"] for c in cart)
