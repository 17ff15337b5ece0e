"""Discount codes: percent or fixed, a redemption limit, a validity window, optionally per kind of line
and per ticket type (or other catalogue id).

Every code that cannot be used for an order gets the same answer
(``discount_invalid``), and guesses are limited (``discount_guesses``). A
redemption is counted in the transaction that creates the order, which
reads the code's document first; two buyers racing for the last redemption
contend on that document and Firestore serialises them, so the count never
passes the limit. An order that is cancelled or expires unpaid gives its
redemption back, in the transaction that ends it, to the same generation of
the code: a code deleted and created again is a new generation with its own
count, which old orders never touch.
"""
import hashlib
import logging

from google.api_core import exceptions as gexc
from google.cloud import firestore
from google.cloud.firestore_v1 import FieldFilter

from app.audit import service as audit
from app.checkout import kinds
from app.errors import AppError, field_error
from app.events import service as events
from app.firebase import db
from app.timeutil import utcnow

logger = logging.getLogger(__name__)

DISCOUNTS = "discounts"


def normalize(code):
    return code.strip().upper()


def discount_ref(event_id, code):
    digest = hashlib.sha256(f"{event_id}/{normalize(code)}".encode()).hexdigest()[:24]
    return db().collection(DISCOUNTS).document(digest)


def _not_found():
    return AppError("not_found", "No such discount code.")


def _managed_event(event_id, user):
    event = events.get_event(event_id, viewer=user)
    events.require_manageable(event, user)
    return event


def _event_currency(event_id):
    ticket_types = events.live_ticket_types(event_id)
    return ticket_types[0]["currency"] if ticket_types else None


def _check(discount, event_id):
    if discount.get("valid_from") and discount.get("valid_until") and discount["valid_until"] <= discount["valid_from"]:
        raise field_error("valid_until", "The code must stop being valid after it starts.")
    if discount.get("ticket_type_ids"):
        known = {t["id"] for t in events.live_ticket_types(event_id)}
        if unknown := sorted(set(discount["ticket_type_ids"]) - known):
            raise field_error("ticket_type_ids", f"The event has no ticket type {', '.join(unknown)}.")
    if unknown := sorted(set(discount.get("kinds") or []) - set(kinds.registered())):
        raise field_error("kinds", f"Nothing of kind {', '.join(unknown)} is sold here.")
    if discount["kind"] == "percent" and not discount.get("percent_off"):
        raise field_error("percent_off", "A percent code needs percent_off.")
    if discount["kind"] == "fixed" and not discount.get("amount_off"):
        raise field_error("amount_off", "A fixed code needs amount_off.")


def view(discount):
    return {k: v for k, v in discount.items() if k != "deleted_at"}


def create_discount(event_id, user, *, code, kind, percent_off=None, amount_off=None, max_redemptions=None,
                    valid_from=None, valid_until=None, ticket_type_ids=None, kinds=None):
    _managed_event(event_id, user)
    now = utcnow()
    ref = discount_ref(event_id, code)
    discount = {
        "id": ref.id, "event_id": event_id, "code": normalize(code), "kind": kind,
        "percent_off": percent_off if kind == "percent" else None,
        "amount_off": amount_off if kind == "fixed" else None,
        "currency": _event_currency(event_id), "max_redemptions": max_redemptions, "redemptions": 0,
        "valid_from": valid_from, "valid_until": valid_until, "ticket_type_ids": ticket_type_ids or None,
        "kinds": kinds or None, "generation": 1, "created_at": now, "updated_at": now, "deleted_at": None,
    }
    _check(discount, event_id)

    @firestore.transactional
    def write(transaction):
        snapshot = ref.get(transaction=transaction)
        if snapshot.exists and not snapshot.get("deleted_at"):
            raise AppError("already_exists", "The event already has this code.")
        if snapshot.exists:
            # A deleted code can be created again: a new generation, whose count its old orders never touch.
            discount["generation"] = (snapshot.to_dict().get("generation") or 1) + 1
        transaction.set(ref, discount)
        audit.record("discount.created", actor_uid=user.uid, target=f"discount/{ref.id}", event_id=event_id,
                     after=view(discount), details={"code": discount["code"]}, transaction=transaction, now=now)

    write(db().transaction())
    logger.info("discount created event=%s code=%s", event_id, discount["code"])
    return view(discount)


def list_discounts(event_id, user):
    _managed_event(event_id, user)
    query = (db().collection(DISCOUNTS).where(filter=FieldFilter("event_id", "==", event_id))
             .where(filter=FieldFilter("deleted_at", "==", None)))
    return sorted((view(doc.to_dict()) for doc in query.stream()), key=lambda d: d["code"])


def _change(event_id, code, user, change, action):
    _managed_event(event_id, user)
    ref = discount_ref(event_id, code)

    @firestore.transactional
    def apply(transaction):
        snapshot = ref.get(transaction=transaction)
        if not snapshot.exists or snapshot.get("deleted_at"):
            raise _not_found()
        current = snapshot.to_dict()
        now = utcnow()
        updates = {**change(current, now), "updated_at": now}
        transaction.update(ref, updates)
        before, after = audit.changed(current, {k: v for k, v in updates.items() if k != "updated_at"})
        audit.record(action, actor_uid=user.uid, target=f"discount/{ref.id}", event_id=event_id, before=before,
                     after=after, details={"code": current["code"], "fields": sorted(after)},
                     transaction=transaction, now=now)
        return {**current, **updates}

    return apply(db().transaction())


def update_discount(event_id, code, user, **changes):
    def change(current, now):
        merged = {**current, **changes}
        _check(merged, event_id)
        if merged["max_redemptions"] is not None and merged["max_redemptions"] < current["redemptions"]:
            raise AppError("below_redemptions", f"The code has been redeemed {current['redemptions']} times.",
                           details={"redemptions": current["redemptions"]})
        return changes

    return view(_change(event_id, code, user, change, "discount.updated"))


def delete_discount(event_id, code, user):
    _change(event_id, code, user, lambda current, now: {"deleted_at": now}, "discount.deleted")


class DiscountRefused(AppError):
    """The one answer to a code that cannot be used here, whatever the reason, so a guesser learns nothing.

    ``unknown`` (no such code for the event) is for the guess limiter, never for the buyer.
    """

    def __init__(self, event_id, *, unknown):
        super().__init__("discount_invalid")
        self.event_id = event_id
        self.unknown = unknown


def read_for_order(tx, event_id, code, currency, now):
    """The code's snapshot, read in the order's transaction, after every check a buyer can fail."""
    try:
        snapshot = tx.get(discount_ref(event_id, code))
    except gexc.InvalidArgument:
        snapshot = None
    if snapshot is None or not snapshot.exists or snapshot.get("deleted_at"):
        raise DiscountRefused(event_id, unknown=True)
    discount = snapshot.to_dict()
    outside_window = (discount["valid_from"] and now < discount["valid_from"]) or (
        discount["valid_until"] and now >= discount["valid_until"])
    other_currency = discount["kind"] == "fixed" and discount["currency"] != currency
    used_up = discount["max_redemptions"] is not None and discount["redemptions"] >= discount["max_redemptions"]
    if outside_window or other_currency or used_up:
        raise DiscountRefused(event_id, unknown=False)
    return snapshot


def redeem(tx, snapshot, now):
    tx.update(snapshot.reference, {"redemptions": snapshot.get("redemptions") + 1, "updated_at": now})


def read_redeemed(tx, order):
    """The snapshot of the code an order redeemed, to give the redemption back (or take it again); None
    without one, or when the code was deleted and created again since (its count is not the order's)."""
    if not order.get("discount_code"):
        return None
    snapshot = tx.get(discount_ref(order["event_id"], order["discount_code"]))
    if not snapshot.exists or (snapshot.to_dict().get("generation") or 1) != (order.get("discount_generation") or 1):
        return None
    return snapshot


def give_back(tx, snapshot, now):
    if snapshot is not None and snapshot.get("redemptions") > 0:
        tx.update(snapshot.reference, {"redemptions": snapshot.get("redemptions") - 1, "updated_at": now})
