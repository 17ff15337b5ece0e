"""A buyer's choices on a menu item: its variant and options, checked against the item and priced.

An item may have variants (a size: choose exactly one) and option groups
("Sauce": required, choose 1; "Extras": optional, at most 3), each option with
a price delta. The unit price is the item's price plus the variant's and the
chosen options' deltas. A missing required choice, too many choices in a
group, an option or variant the item does not have (one from another item),
or a price below zero is a 422 naming what to fix.
"""
from app.errors import AppError


def _refuse(messages):
    return AppError("validation_error", "These choices do not fit the menu item.",
                    details={"fields": {"items": messages}})


def _variant(item, variant_id, problems):
    variants = {v["id"]: v for v in item["variants"]}
    if not variants:
        if variant_id is not None:
            problems.append(f"{item['name']} has no variants.")
        return None
    if variant_id is None:
        problems.append(f"Choose a variant of {item['name']}: {', '.join(sorted(variants))}.")
        return None
    if variant_id not in variants:
        problems.append(f"{item['name']} has no variant {variant_id}.")
        return None
    return variants[variant_id]


def _options(item, option_ids, problems):
    group_of = {option["id"]: (group, option) for group in item["option_groups"] for option in group["options"]}
    if unknown := [o for o in option_ids if o not in group_of]:
        problems.extend(f"{item['name']} has no option {o}." for o in unknown)
    chosen = [group_of[o] for o in option_ids if o in group_of]
    for group in item["option_groups"]:
        count = sum(1 for g, _ in chosen if g["id"] == group["id"])
        if count < group["min_choices"]:
            problems.append(f"Choose at least {group['min_choices']} of {group['name']} for {item['name']}.")
        if count > group["max_choices"]:
            problems.append(f"Choose at most {group['max_choices']} of {group['name']} for {item['name']}.")
    return [{"group_id": group["id"], "id": option["id"], "name": option["name"],
             "price_delta": option["price_delta"]} for group, option in chosen]


def choose(item, variant_id, option_ids):
    """(unit price, variant or None, chosen options) of the buyer's choices; raises a 422 listing each
    problem."""
    problems = []
    variant = _variant(item, variant_id, problems)
    options = _options(item, option_ids, problems)
    unit_price = item["price"] + (variant["price_delta"] if variant else 0) + sum(o["price_delta"] for o in options)
    if not problems and unit_price < 0:
        problems.append(f"These choices would price {item['name']} below zero.")
    if problems:
        raise _refuse(problems)
    return unit_price, variant, options
