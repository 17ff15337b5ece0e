"""Order prices in integer minor units: subtotal, discount and what each unit costs after it.

Every unit carries the price its buyer paid for it, so a refund by ticket
returns exactly what that ticket cost, and the units' prices always add up to
the order's total: a discount is split over the units it applies to in
proportion to their price, by largest remainder, never in floats.
"""


def allocate(amount, weights):
    """Split ``amount`` in proportion to ``weights``; the parts add up to ``amount`` exactly."""
    whole = sum(weights)
    if whole == 0:
        return [0] * len(weights)
    parts = [amount * w // whole for w in weights]
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(amount * weights[i] % whole), i))
    for i in by_remainder[:amount - sum(parts)]:
        parts[i] += 1
    return parts


def discount_amount(discount, eligible_subtotal):
    """What the code takes off the eligible subtotal: a percentage rounded half up, or a fixed amount."""
    if discount["kind"] == "percent":
        return (eligible_subtotal * discount["percent_off"] + 50) // 100
    return min(discount["amount_off"], eligible_subtotal)


def price_order(items, order_units, discount=None):
    """(items, units, totals) for a hold's items and units, with the discount applied.

    ``items`` are the hold's items (each with ``unit_price``); ``order_units``
    are ``{unit_id, ticket_type_id, unit}`` in the same order. Returns the
    items with their discount and total, the units with ``price``, and
    ``{subtotal, discount, total}``.
    """
    unit_price = {item["ticket_type_id"]: item["unit_price"] for item in items}
    eligible = [i for i, u in enumerate(order_units)
                if discount is not None and (not discount.get("ticket_type_ids")
                                             or u["ticket_type_id"] in discount["ticket_type_ids"])]
    weights = [unit_price[order_units[i]["ticket_type_id"]] for i in eligible]
    off = discount_amount(discount, sum(weights)) if eligible else 0
    unit_discount = dict(zip(eligible, allocate(off, weights)))
    priced_units = [{**u, "price": unit_price[u["ticket_type_id"]] - unit_discount.get(i, 0)}
                    for i, u in enumerate(order_units)]
    priced_items = []
    for item in items:
        mine = [u for u in priced_units if u["ticket_type_id"] == item["ticket_type_id"]]
        total = sum(u["price"] for u in mine)
        priced_items.append({"ticket_type_id": item["ticket_type_id"], "name": item["name"],
                             "quantity": item["quantity"], "seats": item.get("seats"),
                             "unit_price": item["unit_price"], "subtotal": item["subtotal"],
                             "discount": item["subtotal"] - total, "total": total})
    subtotal = sum(item["subtotal"] for item in items)
    return priced_items, priced_units, {"subtotal": subtotal, "discount": off, "total": subtotal - off}
