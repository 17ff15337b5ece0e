"""Refunds as durable work: recorded with the change that owes them, sent until the provider confirms.

A refund is a document in ``refunds``, created in the same transaction as
the order change that owes the money (a refund by the organizer, a payment
that came too late, an event cancelled), so no crash can lose it. After the
commit it is tried at once; the scheduler's ``send_refunds`` job tries again
whatever is due. States:

    pending --(provider accepted)--> submitted --(provider confirmed)--> succeeded
       |  \\--(provider accepted and confirmed at once)-------------------> succeeded
       |   \\--(provider refused, e.g. the charge is gone)---------------> failed
       \\--(provider unreachable REFUND_MAX_ATTEMPTS times)-------------> parked

A provider that did not answer is retried with exponential backoff; every
call carries the refund's id as idempotency key, so a retry after a crash
never pays twice. ``submitted`` refunds are confirmed by the provider's
webhook, and checked with the provider at the same backoff in case a webhook
is lost. ``failed`` and ``parked`` refunds wait for an admin
(``GET /admin/refunds?state=parked``, ``POST /admin/refunds/<id>/retry``).
The order's own list of refunds mirrors each one's state.
"""
import logging
import uuid
from datetime import datetime, timedelta
from enum import StrEnum

from flask import current_app
from google.cloud.firestore_v1 import FieldFilter, Query

from app.audit import service as audit
from app.errors import AppError
from app.firebase import db, left_to_concurrent_writer
from app.orders.records import order_ref
from app.pagination import fetch_page, iter_pages
from app.payments import providers
from app.staged import run_staged
from app.timeutil import utcnow

logger = logging.getLogger(__name__)

REFUNDS = "refunds"
LEASE = timedelta(seconds=120)
SWEEP_PAGE = 100


class RefundState(StrEnum):
    PENDING = "pending"
    SUBMITTED = "submitted"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    PARKED = "parked"


OPEN = {RefundState.PENDING, RefundState.SUBMITTED}


def refund_ref(refund_id):
    return db().collection(REFUNDS).document(refund_id)


def queue_refund(tx, order, amount, reason, now, *, unit_keys, actor_uid=None, issued_ids=()):
    """Inside the transaction that owes it: record a refund of ``amount`` on ``order``; returns the entry the
    order keeps in its ``refunds``."""
    refund_id = uuid.uuid4().hex[:20]
    state = RefundState.SUCCEEDED if amount == 0 else RefundState.PENDING
    tx.create(refund_ref(refund_id), {
        "id": refund_id, "order_id": order["id"], "event_id": order["event_id"], "method": order["payment"]["method"],
        "payment_reference": order["payment"].get("reference"), "amount": amount, "currency": order["currency"],
        "reason": reason, "state": str(state), "attempts": 0, "due_at": now if state == RefundState.PENDING else None,
        "claimed_until": None, "reference": None, "last_error": None, "created_at": now, "updated_at": now,
        "settled_at": now if state == RefundState.SUCCEEDED else None,
    })
    return {"id": refund_id, "amount": amount, "reason": reason, "unit_keys": list(unit_keys),
            "ticket_ids": list(issued_ids), "status": str(state), "reference": None, "actor_uid": actor_uid,
            "created_at": now}


def _backoff(attempts):
    config = current_app.config
    return timedelta(seconds=min(config["REFUND_BACKOFF_MAX_SECONDS"],
                                 config["REFUND_BACKOFF_SECONDS"] * 2 ** max(0, attempts - 1)))


def _claim(refund_id):
    """Lease a due refund to this process; the record, or None when it is not due or someone else has it."""
    def claim(tx):
        snapshot = tx.get(refund_ref(refund_id))
        now = utcnow()
        if not snapshot.exists:
            return None
        record = snapshot.to_dict()
        if (record["state"] not in OPEN or record["due_at"] is None or record["due_at"] > now
                or (record["claimed_until"] and record["claimed_until"] > now)):
            return None
        tx.update(snapshot.reference, {"claimed_until": now + LEASE})
        return record

    return run_staged(claim)


def _record_in(tx, snapshot, change):
    """Stage ``change(record, now) -> updates`` of the refund read as ``snapshot`` and mirror its state on the
    order; returns the refund as it will be."""
    order_snapshot = tx.get(order_ref(snapshot.get("order_id")))
    now = utcnow()
    current = snapshot.to_dict()
    updates = {**change(current, now), "updated_at": now}
    tx.update(snapshot.reference, updates)
    merged = {**current, **updates}
    refunds = [{**r, "status": merged["state"], "reference": merged["reference"]} if r["id"] == current["id"] else r
               for r in order_snapshot.get("refunds")]
    tx.update(order_snapshot.reference, {"refunds": refunds, "updated_at": now})
    return merged


def _record(refund_id, change):
    return run_staged(lambda tx: _record_in(tx, tx.get(refund_ref(refund_id)), change))


def _outcome(result, now):
    state = {"succeeded": RefundState.SUCCEEDED, "submitted": RefundState.SUBMITTED}.get(
        result["status"], RefundState.FAILED)
    return {"state": str(state), "reference": result.get("reference"), "claimed_until": None,
            "last_error": result.get("message"), "settled_at": now if state == RefundState.SUCCEEDED else None}


def _retry_later(refund_id, record, message):
    """The provider did not answer: try again after the backoff, or park a refund that never got through."""
    def retry(current, now):
        attempts = current["attempts"] + 1
        parked = current["state"] == RefundState.PENDING and attempts >= current_app.config["REFUND_MAX_ATTEMPTS"]
        return {"attempts": attempts, "claimed_until": None, "last_error": message[:500],
                **({"state": str(RefundState.PARKED), "due_at": None} if parked else
                   {"due_at": now + _backoff(attempts)})}

    updated = _record(refund_id, retry)
    logger.warning("refund not sent refund=%s order=%s attempt=%d state=%s", refund_id, record["order_id"],
                   updated["attempts"], updated["state"])
    return updated["state"]


def send_refund(refund_id):
    """Try one due refund now. Returns its state afterwards, or None when it was not this process's to send."""
    record = _claim(refund_id)
    if record is None:
        return None
    provider = providers.offered().get(record["method"])
    try:
        if provider is None:
            raise providers.ProviderUnavailable(f"payment method {record['method']} is not configured here")
        if record["state"] == RefundState.SUBMITTED:
            result = {"status": provider.refund_status(record["reference"]), "reference": record["reference"]}
        else:
            result = provider.refund(record)
    except providers.ProviderUnavailable as exc:
        return _retry_later(refund_id, record, str(exc))

    def settle(current, now):
        updates = _outcome(result, now)
        checks = current["attempts"] + 1
        due = now + _backoff(checks) if updates["state"] == RefundState.SUBMITTED else None
        return {**updates, "attempts": checks, "due_at": due}

    updated = _record(refund_id, settle)
    log = logger.error if updated["state"] == RefundState.FAILED else logger.info
    log("refund %s refund=%s order=%s amount=%d", updated["state"], refund_id, record["order_id"], record["amount"])
    return updated["state"]


def send_soon(refund_id):
    """After the commit that recorded a refund: try it at once; the job retries whatever this leaves."""
    try:
        return send_refund(refund_id)
    except Exception:  # the refund is durable; the scheduler sends it if this attempt could not
        logger.exception("refund %s left to the scheduler", refund_id)
        return None


def send_refunds(*, page=SWEEP_PAGE):
    """Scheduler job: send every refund that is due. Safe to run twice or concurrently (each is leased)."""
    sent = 0
    query = db().collection(REFUNDS).where(filter=FieldFilter("due_at", "<=", utcnow())).order_by("due_at")
    for snapshot in query.limit(page).select([]).stream():
        with left_to_concurrent_writer("refund %s left to a concurrent sender", snapshot.id):
            sent += send_refund(snapshot.id) is not None
    return sent


def apply_provider_status(refund_id, status, reference, *, once=None):
    """A provider's webhook says what became of a refund: ``succeeded``, ``failed`` or still ``submitted``.
    Applied once, with the webhook's marker, in one transaction; returns the outcome for its answer."""
    def apply(tx):
        if once is not None and tx.get(once[0]).exists:
            return "duplicate"
        snapshot = tx.get(refund_ref(refund_id)) if refund_id and refund_id.isalnum() else None
        outcome = "unknown_refund"
        if snapshot is not None and snapshot.exists:
            # States only move forward: a late "pending" after "succeeded" changes nothing.
            if snapshot.get("state") in OPEN and status in {"succeeded", "failed"}:
                outcome = f"refund_{status}"
                _record_in(tx, snapshot, lambda current, now: {
                    **_outcome({"status": status, "reference": reference}, now), "due_at": None})
            else:
                outcome = "ignored"
        if once is not None:
            tx.create(once[0], {**once[1], "refund_id": refund_id, "outcome": outcome, "created_at": utcnow()})
        return outcome

    outcome = run_staged(apply)
    logger.info("refund webhook %s refund=%s", outcome, refund_id)
    return outcome


def list_refunds(*, state=None, limit, cursor=None):
    """Refunds in a state, newest first: parked and failed ones are what an admin looks at."""
    query = db().collection(REFUNDS)
    if state:
        query = query.where(filter=FieldFilter("state", "==", str(state)))
    query = query.order_by("created_at", direction=Query.DESCENDING).order_by("__name__", direction=Query.DESCENDING)
    items, next_cursor = fetch_page(query, {"created_at": datetime}, limit=limit, cursor=cursor)
    return {"items": items, "next_cursor": next_cursor}


def refunded_between(start, end, *, size):
    """[(order, its entry of the refund)] for refunds recorded in [start, end), oldest first, a page at a time."""
    query = (db().collection(REFUNDS).where(filter=FieldFilter("created_at", ">=", start))
             .where(filter=FieldFilter("created_at", "<", end)).order_by("created_at").order_by("__name__"))
    for page in iter_pages(query, size, fields=["order_id", "created_at"]):
        orders = {s.id: s.to_dict() for s in db().get_all([order_ref(r["order_id"]) for r in page]) if s.exists}
        yield [(orders[r["order_id"]], entry) for r in page if r["order_id"] in orders
               for entry in orders[r["order_id"]]["refunds"] if entry["id"] == r["id"]]


def retry_refund(refund_id, *, actor_uid):
    """An admin sends a parked or failed refund again, with a fresh set of attempts."""
    snapshot = refund_ref(refund_id).get() if refund_id.isalnum() else None
    if snapshot is None or not snapshot.exists:
        raise AppError("not_found", "No such refund.")
    if snapshot.get("state") not in {RefundState.PARKED, RefundState.FAILED}:
        raise AppError("invalid_transition", f"The refund is {snapshot.get('state')}; only parked or failed ones "
                       "are retried.", details={"from": snapshot.get("state"), "to": str(RefundState.PENDING)})
    def retry(tx):
        current = tx.get(refund_ref(refund_id))
        merged = _record_in(tx, current, lambda record, now: {
            "state": str(RefundState.PENDING), "attempts": 0, "due_at": now, "claimed_until": None, "last_error": None})
        audit.record("refund.retried", actor_uid=actor_uid, target=f"refund/{refund_id}", event_id=merged["event_id"],
                     before={k: current.get(k) for k in ("state", "attempts", "last_error")},
                     after={k: merged[k] for k in ("state", "attempts", "last_error")}, transaction=tx,
                     now=merged["updated_at"])

    run_staged(retry)
    send_soon(refund_id)
    return refund_ref(refund_id).get().to_dict()
