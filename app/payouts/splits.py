"""Payment splits: who gets what of every unit an order's buyer paid, to the minor unit.

Each unit carries what it cost (``amount``) and its tax, service fee and tip
(``app.checkout.pricing``). Its line's kind picks the split rule (``rules``);
per unit:

    fee   = min(amount - tip, fee_basis_points of the fee base, half up, + fee_fixed)
    rest  = amount - tip - fee, shared by the rule's basis points (largest remainder)
    the fee is attributed to the parties by the same shares, so each party's gross = its rest + its fee part
    tip   = all to ``tips_to``

so the parts of a unit add up to its amount, the units' to the order's total,
which is what was captured. The fee base is the price before tax, service fee
and tip (``price``) unless the rule says ``all_but_tip``.

A refund returns what its units cost; each party gives back its part of them.
The platform's fee on them is given back too when ``PAYOUT_REFUND_PLATFORM_FEE``
is on; when it is off the platform keeps it, but only as far as the party can
bear it from its balance in the order, so a refund never leaves a party owing.
Only a dispute can: its amount is taken from the parties and the platform in
proportion to what each holds of the order.
"""
from app.checkout.pricing import BASIS, allocate, half_up
from app.payouts import parties

AMOUNTS = ("gross", "fee", "tips")


def fee_base(unit, base):
    if base == "all_but_tip":
        return unit["amount"] - unit["tip"]
    return unit["amount"] - unit["tax"] - unit["fee"] - unit["tip"]


def _add(parts, party, **amounts):
    entry = parts.setdefault(party, dict.fromkeys(AMOUNTS, 0))
    for name, value in amounts.items():
        entry[name] += value


def _listed(parts):
    return [{"party": party, **amounts} for party, amounts in sorted(parts.items()) if any(amounts.values())]


def split_unit(unit, rule, order_parties):
    """``{key, line_id, kind, amount, platform_fee, parts: [{party, gross, fee, tips}]}`` of one unit."""
    tip = unit["tip"]
    shareable = unit["amount"] - tip
    fee = min(shareable, half_up(fee_base(unit, rule["fee_base"]) * rule["fee_basis_points"], BASIS)
              + rule["fee_fixed"])
    weights = [share["basis_points"] for share in rule["shares"]]
    parts = {}
    for share, rest, fee_part in zip(rule["shares"], allocate(shareable - fee, weights), allocate(fee, weights)):
        _add(parts, parties.resolve(share["party"], order_parties), gross=rest + fee_part, fee=fee_part)
    if tip:
        _add(parts, parties.resolve(rule["tips_to"], order_parties), tips=tip)
    return {"key": unit["key"], "line_id": unit["line_id"], "kind": unit["kind"], "amount": unit["amount"],
            "platform_fee": fee, "parts": _listed(parts)}


def party_totals(units):
    """{party: {gross, fee, tips}} over ``units`` (split units)."""
    totals = {}
    for unit in units:
        for part in unit["parts"]:
            _add(totals, part["party"], **{name: part[name] for name in AMOUNTS})
    return totals


def build(order, event, rules_by_kind):
    """The order's payment splits: each unit's, each party's with its share of the total, and the rules used."""
    order_parties = parties.order_parties(event)
    units = [split_unit(unit, rules_by_kind[unit["kind"]], order_parties) for unit in order["units"]]
    totals = party_totals(units)
    platform_fee = sum(unit["platform_fee"] for unit in units)
    nets = {party: t["gross"] - t["fee"] + t["tips"] for party, t in totals.items()}
    names = sorted(nets)
    # Shares of the whole order that add up to exactly 100%, the platform's last.
    percents = allocate(BASIS, [nets[p] for p in names] + [platform_fee]) if order["total"] else [0] * (len(names) + 1)
    return {
        "order_id": order["id"], "event_id": order["event_id"], "venue_id": event["venue_id"],
        "organizer_uid": event["organizer_uid"], "currency": order["currency"], "captured": order["total"],
        "method": order["payment"]["method"], "payment_reference": order["payment"].get("reference"),
        "rules": [{**rule, "kind": kind} for kind, rule in sorted(rules_by_kind.items())],
        "units": units, "platform_fee": platform_fee, "platform_balance": platform_fee,
        "parties": [{"party": p, **totals[p], "net": nets[p], "share_basis_points": share, "balance": nets[p],
                     "fees_kept": 0}
                    for p, share in zip(names, percents)],
        "party_ids": names, "platform_share_basis_points": percents[-1], "refunded_keys": [], "refunds_booked": [],
        "dispute": None,
    }


def refund_split(splits, keys, *, refund_fee):
    """What each party gives back for the refunded units ``keys``, and what of its fee the platform returns:
    ``{"parties": {party: {"back", "fee_back"}}, "fee_back": total}``; ``back`` is the party's part of the
    refund (gross and tips) and ``fee_back`` the fee the platform returns to it, so it loses ``back - fee_back``.

    Whatever the setting, a party never gives back more than it holds of the order: the platform returns
    enough of the fees it took from that party (on these units, or kept on earlier refunds) to cover it."""
    refunded = party_totals([u for u in splits["units"] if u["key"] in keys])
    held = {p["party"]: p for p in splits["parties"]}
    result = {}
    for party, amounts in refunded.items():
        back = amounts["gross"] + amounts["tips"]
        wanted = max(amounts["fee"] if refund_fee else 0, back - held[party]["balance"])
        result[party] = {"back": back, "fee_back": min(wanted, amounts["fee"] + held[party]["fees_kept"]),
                         "fee": amounts["fee"]}
    return {"parties": result, "fee_back": sum(r["fee_back"] for r in result.values())}


def after_losses(splits, party_losses, platform_loss, kept=None):
    """The order's balances after the parties lose ``party_losses`` and the platform ``platform_loss``, and
    the platform kept ``kept`` more of each party's fees on refunded units."""
    kept = kept or {}
    return {"parties": [{**p, "balance": p["balance"] - party_losses.get(p["party"], 0),
                         "fees_kept": p["fees_kept"] + kept.get(p["party"], 0)} for p in splits["parties"]],
            "platform_balance": splits["platform_balance"] - platform_loss}


def after_refund(splits, split_refund):
    """The order's balances after ``split_refund``; and what each party loses."""
    losses = {party: r["back"] - r["fee_back"] for party, r in split_refund["parties"].items()}
    kept = {party: r["fee"] - r["fee_back"] for party, r in split_refund["parties"].items()}
    return after_losses(splits, losses, split_refund["fee_back"], kept), losses


def dispute_split(splits, amount):
    """``(party shares, platform share)`` of a disputed ``amount``: in proportion to what each holds of the
    order now (all of it from the platform when nobody holds anything)."""
    names = [p["party"] for p in splits["parties"]]
    weights = [max(0, p["balance"]) for p in splits["parties"]] + [max(0, splits["platform_balance"])]
    if not any(weights):
        weights[-1] = 1
    shares = allocate(amount, weights)
    return dict(zip(names, shares[:-1])), shares[-1]
