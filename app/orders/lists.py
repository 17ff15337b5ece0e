"""Lists of orders: a buyer's own, and the back office's (an event's, an organizer's, everything for admins),
filtered by state, creation time, event and buyer in any combination.

Every list is newest first and cursor-paginated. Equality filters are served
by merging the composite indexes of each field with ``created_at`` (see
firestore.indexes.json); the time bounds are cursors on that order. A pending
order past its payment deadline reads as ``expired`` before the sweeper has
marked it, so the two states that differ by it are checked in memory as well,
and those lists carry no ``total``.
"""
from datetime import datetime

from google.cloud.firestore_v1 import FieldFilter, Query

from app.errors import field_error
from app.events import service as events
from app.firebase import db
from app.orders.records import ORDERS, OrderState, is_lapsed, view
from app.pagination import count, created_between, fetch_page, iter_pages, page_of
from app.timeutil import utcnow


class Scope:
    OWN = "own"
    MANAGED = "managed"


def _state_filter(payment_status, now):
    """(Firestore filter, check in memory or None) for one state as readers see it."""
    if payment_status == OrderState.PENDING_PAYMENT:
        return FieldFilter("state", "==", payment_status), lambda order: not is_lapsed(order, now)
    if payment_status == OrderState.EXPIRED:
        return (FieldFilter("state", "in", [str(OrderState.PENDING_PAYMENT), str(OrderState.EXPIRED)]),
                lambda order: order["state"] == OrderState.EXPIRED or is_lapsed(order, now))
    return FieldFilter("state", "==", str(payment_status)), None


def orders_query(user, *, scope=None, event_id=None, buyer_uid=None, payment_status=None, now=None):
    """(query newest first, check in memory or None) of the orders ``user`` asked for and may see.

    ``scope`` is ``own`` (what the caller bought) or ``managed`` (the orders of
    events the caller organizes; admins: all); filtering by event or buyer
    means ``managed`` unless said otherwise.
    """
    scope = scope or (Scope.MANAGED if event_id or buyer_uid else Scope.OWN)
    query = db().collection(ORDERS)
    if scope == Scope.OWN:
        if buyer_uid not in (None, user.uid):
            raise field_error("buyer_uid", "Filter by buyer in scope=managed; your own orders are scope=own.")
        filters = [("buyer_uid", user.uid)] + ([("event_id", event_id)] if event_id else [])
    else:
        filters = events.sales_scope(user, event_id=event_id) + ([("buyer_uid", buyer_uid)] if buyer_uid else [])
    for field, value in filters:
        query = query.where(filter=FieldFilter(field, "==", value))
    keep = None
    if payment_status:
        state_filter, keep = _state_filter(payment_status, now or utcnow())
        query = query.where(filter=state_filter)
    query = query.order_by("created_at", direction=Query.DESCENDING).order_by("__name__", direction=Query.DESCENDING)
    return query, keep


def list_orders(user, *, scope=None, event_id=None, buyer_uid=None, payment_status=None, created_from=None,
                created_to=None, with_total=False, limit, cursor=None):
    """A page of orders, newest first; ``total`` (when asked for) counts every order that matches."""
    now = utcnow()
    query, keep = orders_query(user, scope=scope, event_id=event_id, buyer_uid=buyer_uid,
                               payment_status=payment_status, now=now)
    query = created_between(query, created_from, created_to)
    items, next_cursor = fetch_page(query, {"created_at": datetime}, limit=limit, cursor=cursor, keep=keep)
    total = count(query) if with_total and keep is None else None
    return page_of([view(order, user, now) for order in items], next_cursor, total)


def iter_event_orders(event_id, user, *, size, fields):
    """Every order of an event the user manages, newest first, a page at a time, with only ``fields`` (for
    exports) and its state as it reads."""
    query, _ = orders_query(user, scope=Scope.MANAGED, event_id=event_id)
    for page in iter_pages(query, size, fields=sorted({*fields, "created_at", "state", "payment_deadline"})):
        now = utcnow()
        yield [{**order, "state": str(OrderState.EXPIRED) if is_lapsed(order, now) else order["state"]}
               for order in page]


def iter_own_orders(user, *, size):
    query, _ = orders_query(user, scope=Scope.OWN)
    for page in iter_pages(query, size):
        yield [view(order, user) for order in page]
