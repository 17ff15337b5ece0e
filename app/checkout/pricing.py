"""Prices in one place: integer minor units, per line and per unit, adding up to the cent.

For every line: unit price (options included) × quantity is its subtotal; a
discount code takes its amount off the units it applies to, split over them
in proportion to their price by largest remainder; tax is computed per line
on what is left, at the line's tax category's rate in basis points, rounded
half up, and either included in the price or added to it; each unit adds the
line's service fee; the buyer's tip is split over the units of lines that
take tips (a stand's food) or, without such lines, over all units.

Every unit of the order carries its share of each part (``amount`` is what
it cost), so a refund of any units returns exactly what they cost and
refunds by unit always add up to the order's total.

    total = subtotal - discount + tax added on top + service fees + tip
"""

BASIS = 10_000


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


def half_up(numerator, denominator):
    """numerator / denominator rounded half up, for non-negative integers."""
    return (2 * numerator + denominator) // (2 * denominator)


def discount_amount(discount, eligible_subtotal):
    """What the code takes off the eligible subtotal: a percentage rounded half up, or a fixed amount."""
    if discount["kind"] == "percent":
        return half_up(eligible_subtotal * discount["percent_off"], 100)
    return min(discount["amount_off"], eligible_subtotal)


def applies(discount, line):
    """A code applies to every line, or only to the lines of its listed kinds and catalogue ids."""
    kinds = discount.get("kinds")
    ids = discount.get("ticket_type_ids")
    return (not kinds or line["kind"] in kinds) and (not ids or line.get("catalog_id") in ids)


def line_tax(net, rate):
    """(tax, added on top) of a line whose discounted price is ``net`` at ``rate``
    ``{"basis_points", "inclusive"}``; a line without a rate has no tax."""
    if not rate or not rate["basis_points"]:
        return 0, 0
    if rate["inclusive"]:
        return half_up(net * rate["basis_points"], BASIS + rate["basis_points"]), 0
    tax = half_up(net * rate["basis_points"], BASIS)
    return tax, tax


def price(lines, *, tax_rates=None, discount=None, tip=0):
    """(lines, units, totals) for stored lines, with ``discount`` (a code's record) and ``tip`` applied.

    ``units`` has one entry per unit, in line order: ``{line_id, index, list_price,
    discount, tax, fee, tip, amount}``; ``lines`` are the input lines with
    ``discount, tax, tax_inclusive, service_fee, tip, total`` added.
    """
    tax_rates = tax_rates or {}
    units = [{"line_id": line["id"], "index": i, "list_price": line["unit_price"], "fee": line["fee_per_unit"]}
             for line in lines for i in range(line["quantity"])]
    by_line = {line["id"]: [u for u in units if u["line_id"] == line["id"]] for line in lines}

    eligible = [u for line in lines if discount is not None and applies(discount, line) for u in by_line[line["id"]]]
    off = discount_amount(discount, sum(u["list_price"] for u in eligible)) if eligible else 0
    for unit, part in zip(eligible, allocate(off, [u["list_price"] for u in eligible])):
        unit["discount"] = part

    priced_lines = []
    for line in lines:
        mine = by_line[line["id"]]
        nets = [u["list_price"] - u.get("discount", 0) for u in mine]
        rate = tax_rates.get(line["tax_category"])
        tax, on_top = line_tax(sum(nets), rate)
        for unit, net, unit_tax, unit_on_top in zip(mine, nets, allocate(tax, nets), allocate(on_top, nets)):
            unit.update(discount=unit.get("discount", 0), tax=unit_tax, amount=net + unit_on_top + unit["fee"])
        priced_lines.append({**line, "discount": sum(u["discount"] for u in mine), "tax": tax,
                             "tax_inclusive": bool(rate and rate["inclusive"]),
                             "service_fee": sum(u["fee"] for u in mine)})

    tipped = [u for line in lines if line["takes_tips"] for u in by_line[line["id"]]] or units
    weights = [u["amount"] for u in tipped]
    for unit, part in zip(tipped, allocate(tip, weights if sum(weights) else [1] * len(tipped))):
        unit["tip"] = part
    for unit in units:
        unit.setdefault("tip", 0)
        unit["amount"] += unit["tip"]
    for line in priced_lines:
        mine = by_line[line["id"]]
        line.update(tip=sum(u["tip"] for u in mine), total=sum(u["amount"] for u in mine))

    totals = {
        "subtotal": sum(line["subtotal"] for line in lines),
        "discount": off,
        "tax": sum(line["tax"] for line in priced_lines),
        "service_fee": sum(u["fee"] for u in units),
        "tip": tip,
        "total": sum(u["amount"] for u in units),
    }
    return priced_lines, units, totals
