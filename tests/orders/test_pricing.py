"""Money arithmetic in integers: a discount split over units always adds up to the total."""
import pytest

from app.orders.pricing import allocate, price_order


@pytest.mark.parametrize("amount, weights", [
    (100, [1000, 1000, 1000]), (1, [1, 1, 1]), (0, [5, 7]), (999, [1, 2, 3, 4]), (7, [0, 0, 3]), (10, [0, 0]),
])
def test_allocation_is_exact_and_proportional(amount, weights):
    parts = allocate(amount, weights)
    assert sum(parts) == (amount if sum(weights) else 0)
    assert all(isinstance(p, int) for p in parts)
    for part, weight in zip(parts, weights):
        assert abs(part * sum(weights) - amount * weight) < sum(weights) or not sum(weights)


def test_a_percent_discount_rounds_half_up_and_the_units_add_up():
    items = [{"ticket_type_id": "a", "name": "A", "quantity": 3, "unit_price": 333, "subtotal": 999}]
    units = [{"unit_id": f"u{i}", "ticket_type_id": "a", "unit": i} for i in range(3)]
    _, priced, totals = price_order(items, units, {"kind": "percent", "percent_off": 15})
    assert totals == {"subtotal": 999, "discount": 150, "total": 849}
    assert sum(u["price"] for u in priced) == 849
    assert sorted(u["price"] for u in priced) == [283, 283, 283]
