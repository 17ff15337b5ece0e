"""Menu items: what a stand sells, with its variants, option groups, stock and switches.

Items live under their stand (``concession_stands/<id>/menu_items``). Food and
drinks have no stock: a ``sold_out`` switch takes them off sale. Merchandise
has ``stock``: a numbered pool of units claimed like ticket units
(``app.inventory.claims``), so the last scarf is never sold twice. Lowering the
stock retires units inside the item's transaction (``app.inventory.capacity``),
so a buyer racing the change makes it fail or retry instead of overselling;
stock is never set below what is sold or held.
"""
import logging

from google.api_core import exceptions as gexc
from google.cloud import firestore
from google.cloud.firestore_v1 import FieldFilter

from app.concessions import stands
from app.errors import AppError, field_error
from app.events import service as events
from app.firebase import db
from app.inventory import capacity as resizing
from app.inventory import claims, units
from app.textfold import fold
from app.timeutil import utcnow

logger = logging.getLogger(__name__)

MENU_ITEMS = "menu_items"
MAX_ITEMS = 100


def _not_found():
    return AppError("not_found", "No such menu item.")


def _items(stand_id):
    return stands.stand_ref(stand_id).collection(MENU_ITEMS)


def _item_ref(stand_id, item_id):
    if not stands.DOCUMENT_ID.fullmatch(item_id):
        raise _not_found()
    return _items(stand_id).document(item_id)


def pool_id(item):
    return f"concession:{item['stand_id']}:{item['id']}"


def _scope(item):
    return f"concessions/{item['stand_id']}/{item['id']}"


def pool(item):
    """The item's units of stock, or None for an item without stock."""
    if item["stock"] is None:
        return None
    return claims.Pool(id=pool_id(item), scope=_scope(item), units=range(item["unit_count"]), name=item["name"],
                       about={"stand_id": item["stand_id"], "item_id": item["id"]})


def remaining(item, now):
    """Units of stock left to sell now (held ones are not), or None without stock."""
    if item["stock"] is None:
        return None
    return max(0, item["unit_count"] - units.count_live_units(pool_id(item), now))


def live_items(stand_id, *, transaction=None):
    """{item id: item} of the stand's items that are not deleted."""
    query = _items(stand_id).where(filter=FieldFilter("deleted_at", "==", None))
    docs = query.stream(transaction=transaction) if transaction else query.stream()
    return {doc.id: doc.to_dict() for doc in docs}


def _sorted(items):
    return sorted(items, key=lambda i: (i["name_key"], i["id"]))


def list_items(stand_id, *, viewer=None):
    stands.get_stand(stand_id, viewer=viewer)
    return _sorted(live_items(stand_id).values())


def _check_choices(variants, option_groups):
    """Ids must name one variant or option of the item; a group's bounds must be choosable."""
    ids = [v["id"] for v in variants or []] + [o["id"] for g in option_groups or [] for o in g["options"]]
    if len(ids) != len(set(ids)):
        raise field_error("option_groups", "Variant and option ids must be unique within the item.")
    groups = [g["id"] for g in option_groups or []]
    if len(groups) != len(set(groups)):
        raise field_error("option_groups", "Option group ids must be unique within the item.")


def _choice(choice):
    return {"id": choice["id"], "name": choice["name"], "price_delta": choice.get("price_delta", 0)}


def _group(group):
    """The group as stored, its bounds filled in: a required group needs at least one choice."""
    required = group.get("required", False)
    low = group.get("min_choices", 1 if required else 0)
    high = group.get("max_choices", max(low, 1))
    if required and low < 1:
        raise field_error("option_groups", f"{group['name']} is required: choose at least one.")
    if not required and low > 0:
        raise field_error("option_groups", f"{group['name']} is optional: it cannot need choices.")
    if not low <= high <= len(group["options"]):
        raise field_error("option_groups", f"{group['name']}: 0 ≤ min_choices ≤ max_choices ≤ its options.")
    return {"id": group["id"], "name": group["name"], "required": required, "min_choices": low, "max_choices": high,
            "options": [_choice(o) for o in group["options"]]}


def _stand_transaction(stand_id, user, work):
    """Run work(stand, transaction) for a stand the user manages, in one transaction."""
    ref = stands.stand_ref(stand_id)

    @firestore.transactional
    def apply(transaction):
        snapshot = ref.get(transaction=transaction)
        stand = snapshot.to_dict() if snapshot.exists else None
        if stand is None or stand.get("deleted_at"):
            raise stands.not_found()
        if not stands.can_manage_stand(user, stand):
            raise AppError("forbidden", "Only the venue's owner or an admin changes its stands' menus.")
        return work(stand, transaction)

    return apply(db().transaction())


def create_item(stand_id, user, *, name, price, description="", tax_category=None, image_url=None, variants=(),
                option_groups=(), stock=None, sold_out=False, age_restricted=False, item_id=None):
    ref = _item_ref(stand_id, item_id) if item_id else _items(stand_id).document()
    _check_choices(variants, option_groups)
    groups = [_group(g) for g in option_groups]

    def work(stand, transaction):
        if len(live_items(stand_id, transaction=transaction)) >= MAX_ITEMS:
            raise AppError("too_many_items", f"A stand has at most {MAX_ITEMS} menu items.")
        now = utcnow()
        item = {"id": ref.id, "stand_id": stand_id, "name": name, "name_key": fold(name),
                "description": description, "price": price, "currency": stand["currency"],
                "tax_category": tax_category, "image_url": image_url, "variants": [_choice(v) for v in variants],
                "option_groups": groups, "stock": stock, "unit_count": stock, "sold_out": sold_out,
                "age_restricted": age_restricted, "created_at": now, "updated_at": now, "deleted_at": None}
        transaction.create(ref, item)
        return item

    try:
        item = _stand_transaction(stand_id, user, work)
    except gexc.AlreadyExists:
        raise AppError("already_exists", "A menu item with this id exists.") from None
    logger.info("menu item created stand=%s item=%s", stand_id, item["id"])
    return item


def _read_live(ref, transaction):
    snapshot = ref.get(transaction=transaction)
    item = snapshot.to_dict() if snapshot.exists else None
    if item is None or item.get("deleted_at"):
        raise _not_found()
    return item


def update_item(stand_id, item_id, user, **changes):
    ref = _item_ref(stand_id, item_id)

    def work(stand, transaction):
        current = _read_live(ref, transaction)
        updates = dict(changes)
        if "variants" in changes or "option_groups" in changes:
            _check_choices(changes.get("variants", current["variants"]),
                           changes.get("option_groups", current["option_groups"]))
            if "option_groups" in changes:
                updates["option_groups"] = [_group(g) for g in changes["option_groups"]]
            if "variants" in changes:
                updates["variants"] = [_choice(v) for v in changes["variants"]]
        if "name" in changes:
            updates["name_key"] = fold(changes["name"])
        if "stock" in changes and changes["stock"] != current["stock"]:
            if current["stock"] is None or changes["stock"] is None:
                raise field_error("stock", "An item keeps stock, or has none, from when it is created.")
            resized = resizing.resize_numbered(transaction, pool_id(current), _scope(current),
                                               unit_count=current["unit_count"], capacity=current["stock"],
                                               new_capacity=changes["stock"])
            updates.update(stock=resized["capacity"], unit_count=resized["unit_count"])
        updates["updated_at"] = utcnow()
        transaction.update(ref, updates)
        return {**current, **updates}

    item = _stand_transaction(stand_id, user, work)
    logger.info("menu item updated stand=%s item=%s fields=%s", stand_id, item_id, sorted(changes))
    return item


def delete_item(stand_id, item_id, user):
    """Take an item off the menu; orders that have it keep what they bought."""
    ref = _item_ref(stand_id, item_id)

    def work(stand, transaction):
        _read_live(ref, transaction)
        now = utcnow()
        transaction.update(ref, {"deleted_at": now, "updated_at": now})

    _stand_transaction(stand_id, user, work)
    logger.info("menu item deleted stand=%s item=%s", stand_id, item_id)


def get_menu(stand_id, event_id, *, viewer=None):
    """The stand's menu for an event: whether it takes orders now, and each item's price, choices and
    availability (a sold-out switch, or stock left)."""
    stand = stands.get_stand(stand_id, viewer=viewer)
    event = events.get_event(event_id, viewer=viewer)
    now = utcnow()
    items = []
    for item in _sorted(live_items(stand_id).values()):
        left = remaining(item, now)
        items.append({**item, "remaining": left, "available": not item["sold_out"] and left != 0})
    return {"stand": stand, "event_id": event_id, "open": stands.is_open_for(stand, event, now), "as_of": now,
            "items": items}
