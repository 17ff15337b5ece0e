"""Stand orders: what one paid checkout order asks of one stand, with its pickup code, and how it reads.

When an order with concession lines is paid, every stand it orders from gets
one stand order in ``STAND_ORDERS`` (its id derived from the order's and the
stand's, so paying twice names the same one) holding that stand's lines, how
the buyer gets them (pickup or delivery to a seat) and a short pickup code
unique at the stand. States only move forward, one step at a time:

    received -> preparing -> ready -> completed      (completed: the pickup code was redeemed)
        \\___________\\___________\\----> cancelled   (every line refunded)

The buyer also gets a signed code for a QR: the stand order's id with an
HMAC of it under the app's secret, so a QR cannot be made up from an id.
"""
import base64
import hashlib
import hmac
import threading
import weakref
from datetime import timedelta
from enum import StrEnum

from flask import current_app
from google.cloud.firestore_v1 import FieldFilter
from google.cloud.firestore_v1.aggregation import AggregationQuery

from app.errors import AppError
from app.events import service as events
from app.firebase import db

STAND_ORDERS = "concession_orders"
PICKUP_CODES = "concession_pickup_codes"
KIND = "concession"
# Letters and digits nobody confuses when reading them out (no 0/O, 1/I/L, 2/Z, 5/S, 8/B).
CODE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY3467"
CODE_LENGTH = 6
CODE_CANDIDATES = 8
QR_PREFIX = "BXC1"


class StandOrderState(StrEnum):
    RECEIVED = "received"
    PREPARING = "preparing"
    READY = "ready"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


OPEN = (StandOrderState.RECEIVED, StandOrderState.PREPARING, StandOrderState.READY)
NEXT = {StandOrderState.RECEIVED: StandOrderState.PREPARING, StandOrderState.PREPARING: StandOrderState.READY,
        StandOrderState.READY: StandOrderState.COMPLETED}
# How far along a state is, for readers that must not let an older write win.
PROGRESS = {StandOrderState.RECEIVED: 0, StandOrderState.PREPARING: 1, StandOrderState.READY: 2,
            StandOrderState.COMPLETED: 3, StandOrderState.CANCELLED: 3}
# Shown to the buyer only: what they show or say at the stand.
BUYER_FIELDS = ("pickup_code", "qr_code")
HIDDEN = ("accept_by",)


def not_found():
    return AppError("not_found", "No such stand order.")


def stand_order_id(order_id, stand_id):
    return hashlib.sha256(f"{order_id}/{stand_id}".encode()).hexdigest()[:20]


def stand_order_ref(so_id):
    if len(so_id) != 20 or not so_id.isalnum():
        raise not_found()
    return db().collection(STAND_ORDERS).document(so_id)


def read_stand_order(so_id):
    snapshot = stand_order_ref(so_id).get()
    if not snapshot.exists:
        raise not_found()
    return snapshot.to_dict()


def find_stand_order(so_id):
    """The stand order, or None: for readers after a commit (the live feed, notifications)."""
    try:
        return read_stand_order(so_id)
    except AppError:
        return None


def stand_ids_of(order):
    """The stands an order's concession lines order from, in line order."""
    return list(dict.fromkeys(line["details"]["stand_id"] for line in order["items"] if line["kind"] == KIND))


def stand_orders_of(order):
    """The stand orders an order's payment made (none before it was paid)."""
    refs = [stand_order_ref(stand_order_id(order["id"], stand_id)) for stand_id in stand_ids_of(order)]
    return [s.to_dict() for s in db().get_all(refs) if s.exists] if refs else []


def view(stand_order, *, buyer=False):
    """The stand order as its reader sees it; the pickup code and QR only for its buyer, so that handing over
    needs what the buyer shows."""
    shown = {k: v for k, v in stand_order.items() if k not in HIDDEN + BUYER_FIELDS}
    if buyer:
        shown.update(pickup_code=stand_order["pickup_code"], qr_code=signed_code(stand_order["id"]))
    return shown


def _signature(so_id):
    key = hmac.new(current_app.config["SECRET_KEY"].encode(), b"concession-pickup", hashlib.sha256).digest()
    digest = hmac.new(key, so_id.encode(), hashlib.sha256).digest()[:18]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def signed_code(so_id):
    return f"{QR_PREFIX}.{so_id}.{_signature(so_id)}"


def verify_signed_code(code):
    """The stand order id a signed code names, or None when it is not one this app signed."""
    prefix, _, rest = code.partition(".")
    so_id, _, signature = rest.partition(".")
    if prefix != QR_PREFIX or len(so_id) != 20 or not so_id.isalnum():
        return None
    return so_id if hmac.compare_digest(signature, _signature(so_id)) else None


def normalize_code(code):
    return "".join(c for c in code.upper() if c.isalnum())


def code_ref(stand_id, code):
    return db().collection(PICKUP_CODES).document(f"{stand_id}-{code}")


def _code_candidates(so_id):
    digest = hashlib.sha256(f"pickup/{so_id}".encode()).digest()
    number = int.from_bytes(digest, "big")
    codes = []
    for _ in range(CODE_CANDIDATES):
        code = ""
        for _ in range(CODE_LENGTH):
            number, index = divmod(number, len(CODE_ALPHABET))
            code += CODE_ALPHABET[index]
        codes.append(code)
    return codes


def claim_code(tx, stand_id, so_id, now):
    """Inside the paying transaction: the first of the stand order's candidate codes no other order of the
    stand has, created for it. A concurrent order that read the same free code makes one of the two
    transactions retry, and it then takes its next candidate."""
    candidates = _code_candidates(so_id)
    taken = {s.id for s in tx.get_all([code_ref(stand_id, c) for c in candidates]) if s.exists}
    for code in candidates:
        ref = code_ref(stand_id, code)
        if ref.id not in taken:
            tx.create(ref, {"stand_id": stand_id, "stand_order_id": so_id, "created_at": now})
            return code
    raise AppError("busy", "No pickup code is free for this order; try again.")


def stand_order_by_code(stand_id, code):
    """The stand order id a stand's pickup code names, or None."""
    code = normalize_code(code)
    if len(code) != CODE_LENGTH:
        return None
    snapshot = code_ref(stand_id, code).get()
    return snapshot.get("stand_order_id") if snapshot.exists else None


def _line_entry(line, units):
    details = line["details"]
    return {"line_id": line["id"], "item_id": details["item_id"], "item_name": details["item_name"],
            "name": line["name"], "quantity": line["quantity"],
            "variant": details.get("variant"), "options": [o["name"] for o in details.get("options", [])],
            "note": details.get("note"), "age_restricted": details["age_restricted"],
            "amount": sum(u["amount"] for u in units), "tip": sum(u["tip"] for u in units),
            "refunded_quantity": 0, "refunded_amount": 0, "refunded_tip": 0}


def new_stand_order(tx, order, stand_id, now):
    """The stand order a paid order makes for one stand: all of that stand's lines, received now. Staff must
    accept it within CONCESSION_ACCEPT_TIMEOUT_SECONDS, counted from the event's start for orders placed
    ahead of it."""
    so_id = stand_order_id(order["id"], stand_id)
    lines = [line for line in order["items"] if line["kind"] == KIND and line["details"]["stand_id"] == stand_id]
    entries = [_line_entry(line, [u for u in order["units"] if u["line_id"] == line["id"]]) for line in lines]
    first = lines[0]["details"]
    event = events.read_event(tx, order["event_id"])
    timeout = timedelta(seconds=current_app.config["CONCESSION_ACCEPT_TIMEOUT_SECONDS"])
    opens = max(now, event["starts_at"]) if event else now
    return {
        "id": so_id, "order_id": order["id"], "event_id": order["event_id"], "buyer_uid": order["buyer_uid"],
        "stand_id": stand_id, "stand_name": first["stand_name"], "venue_id": first["venue_id"],
        "currency": order["currency"], "fulfilment": first["fulfilment"], "lines": entries,
        "age_restricted": any(e["age_restricted"] for e in entries), "total": sum(e["amount"] for e in entries),
        "state": str(StandOrderState.RECEIVED), "pickup_code": claim_code(tx, stand_id, so_id, now),
        "received_at": now, "accept_by": opens + timeout, "preparing_at": None, "ready_at": None,
        "completed_at": None, "cancelled_at": None, "cancel_reason": None, "redeemed_by": None,
        "created_at": now, "updated_at": now,
    }


_staged = weakref.WeakKeyDictionary()
_staged_lock = threading.Lock()


def staged(tx, so_id, build):
    """The stand order as ``tx`` will write it: built by ``build()`` (None: nothing to write) and staged once.

    Firestore takes one write per document in a commit, but the checkout hands
    this kind an order's lines one at a time (``sell``, ``void``), and several
    may belong to one stand order. The first call in a transaction stages the
    write; later calls get the same dict and change it, which the staged write
    carries because StagedTransaction hands writes to Firestore only at the end.
    """
    with _staged_lock:
        in_tx = _staged.setdefault(tx, {})
    if so_id not in in_tx:
        stand_order = build()
        if stand_order is None:
            return None
        tx.set(stand_order_ref(so_id), stand_order)
        in_tx[so_id] = stand_order
    return in_tx[so_id]


def _queue_query(stand_id, event_id):
    return (db().collection(STAND_ORDERS).where(filter=FieldFilter("stand_id", "==", stand_id))
            .where(filter=FieldFilter("event_id", "==", event_id)))


def queue_query(stand_id, event_id, state=None):
    query = _queue_query(stand_id, event_id)
    if state:
        query = query.where(filter=FieldFilter("state", "==", str(state)))
    return query.order_by("received_at").order_by("__name__")


def _count(query):
    return AggregationQuery(query).count(alias="n").get()[0][0].value


def queue_counts(stand_id, event_id):
    """{state: count} of the stand's open orders for the event."""
    query = _queue_query(stand_id, event_id)
    return {str(state): _count(query.where(filter=FieldFilter("state", "==", str(state)))) for state in OPEN}


def has_open_orders(stand_id):
    query = db().collection(STAND_ORDERS).where(filter=FieldFilter("stand_id", "==", stand_id))
    return any(_count(query.where(filter=FieldFilter("state", "==", str(state))).limit(1)) for state in OPEN)


def event_stand_orders(stand_id, event_id):
    return [doc.to_dict() for doc in _queue_query(stand_id, event_id).stream()]
