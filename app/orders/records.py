"""Order records: their states, how they read, and who may read them.

States: ``pending_payment → paid → (partially_refunded | refunded)``, or
``cancelled`` / ``expired`` before payment. A pending order past its payment
deadline reads as ``expired`` whether or not the ``expire_orders`` job has run.
"""
from enum import StrEnum

from google.cloud.firestore_v1 import FieldFilter

from app.checkout.holds import line_view
from app.errors import AppError
from app.events import service as events
from app.firebase import db
from app.pagination import iter_pages
from app.timeutil import utcnow

ORDERS = "orders"
# Shown to buyers; what is kept for settling (claims, pools) stays in Firestore.
UNIT_FIELDS = ("key", "line_id", "kind", "list_price", "discount", "tax", "fee", "tip", "amount", "refunded")


class OrderState(StrEnum):
    PENDING_PAYMENT = "pending_payment"
    PAID = "paid"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


PAID_STATES = {OrderState.PAID, OrderState.PARTIALLY_REFUNDED, OrderState.REFUNDED}


def order_ref(order_id):
    return db().collection(ORDERS).document(order_id)


def not_found():
    return AppError("not_found", "No such order.")


def is_lapsed(order, now):
    return order["state"] == OrderState.PENDING_PAYMENT and order["payment_deadline"] <= now


def issued(order):
    """What the order's units issued, as the buyer sees it: ``[{kind, line_id, price, refunded, id, ...}]``."""
    return [{"kind": u["kind"], "line_id": u["line_id"], "price": u["amount"], "refunded": u["refunded"],
             **u["issued"]} for u in order["units"] if u.get("issued")]


def view(order, user=None, now=None):
    """The order as its reader sees it: lapsed means expired, and only the buyer gets the client secret."""
    state = OrderState.EXPIRED if is_lapsed(order, now or utcnow()) else order["state"]
    payment_view = dict(order.get("payment") or {})
    if user is not None and user.uid != order["buyer_uid"]:
        payment_view.pop("client_secret", None)
    things = issued(order)
    hidden = {"units", "fingerprint", "items", "slot_id", "discount_generation", "tax_rates"}
    return {**{k: v for k, v in order.items() if k not in hidden}, "state": str(state), "payment": payment_view,
            "items": [line_view(line) for line in order["items"]],
            "units": [{k: u[k] for k in UNIT_FIELDS} | {"issued_id": (u.get("issued") or {}).get("id")}
                      for u in order["units"]],
            "issued": things,
            "tickets": [{"ticket_id": t["id"], "ticket_type_id": t["ticket_type_id"], "seat": t["seat"],
                         "price": t["price"], "refunded": t["refunded"]} for t in things if "ticket_id" in t]}


def changed_since(moment, *, limit):
    """Orders changed at or after ``moment``, oldest change first: for a listener that must not miss a commit
    whose signal was lost with its process."""
    query = db().collection(ORDERS).where(filter=FieldFilter("updated_at", ">=", moment)).order_by("updated_at")
    return [doc.to_dict() for doc in query.limit(limit).stream()]


def can_manage(user, order):
    return events.manages_event(user, order["event_id"])


def read_order(order_id, user):
    """The order if the user is its buyer, the event's organizer or an admin; 404 otherwise."""
    snapshot = order_ref(order_id).get() if order_id.isalnum() else None
    if snapshot is None or not snapshot.exists:
        raise not_found()
    order = snapshot.to_dict()
    if order["buyer_uid"] != user.uid and not can_manage(user, order):
        raise not_found()
    return order


def get_order(order_id, user):
    return view(read_order(order_id, user), user)


def refunds_of_issued(order_ids):
    """{issued id: the refund entry that refunded it} over these orders: why a ticket (pass, pickup) was voided."""
    found = {}
    for snapshot in db().get_all([order_ref(i) for i in sorted(set(order_ids))], field_paths=["refunds"]):
        for refund in (snapshot.get("refunds") if snapshot.exists else None) or []:
            found.update(dict.fromkeys(refund.get("ticket_ids") or [], refund))
    return found


def paid_between(start, end, *, size):
    """Orders paid in [start, end), oldest first, ``size`` at a time."""
    query = (db().collection(ORDERS).where(filter=FieldFilter("paid_at", ">=", start))
             .where(filter=FieldFilter("paid_at", "<", end)).order_by("paid_at").order_by("__name__"))
    yield from iter_pages(query, size)
