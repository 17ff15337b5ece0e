"""Transfers and reversals as durable work: recorded with the booking that owes them, sent until Stripe confirms.

A transfer (a party's part of an order, to its connected account) or a
reversal (part of a transfer taken back for a refund) is a document in
``payout_transfers``, created in the same transaction as the ledger entries
that owe it, so no crash can lose it. After the commit it is tried at once;
the scheduler's ``send_payouts`` job tries again whatever is due. States:

    pending --(Stripe created it)-----------------------------> succeeded
       |  \\--(Stripe refused, e.g. the account cannot receive)--> failed
       |   \\--(Stripe unreachable PAYOUT_MAX_ATTEMPTS times)----> parked
    held    (the party's account cannot receive money yet; released when it can)
    frozen  (the order is disputed; an admin or a won dispute releases it)
    cancelled (a refund took all of a transfer that was never sent)

Every Stripe call carries the record's id as idempotency key, so a retry after
a crash never pays twice. A refund takes from a transfer that was never
tried; once one was tried it may have reached Stripe, so a refund then
queues a reversal of it instead (sent after the transfer succeeded). Failed
and parked records wait for an admin (``GET /admin/payouts/transfers?state=``,
``POST /admin/payouts/transfers/<id>/retry``). The ledger records a transfer or
reversal in the transaction that marks it succeeded.
"""
import hashlib
import logging
from datetime import datetime, timedelta
from enum import StrEnum

from flask import current_app
from google.api_core import exceptions as gexc
from google.cloud.firestore_v1 import FieldFilter, Query

from app.errors import AppError
from app.firebase import db
from app.pagination import fetch_page
from app.payments.providers import ProviderUnavailable
from app.payouts import accounts, connect, ledger
from app.staged import run_staged
from app.timeutil import utcnow

logger = logging.getLogger(__name__)

PAYOUT_TRANSFERS = "payout_transfers"
LEASE = timedelta(seconds=120)
SWEEP_PAGE = 100


class TransferState(StrEnum):
    PENDING = "pending"
    HELD = "held"
    FROZEN = "frozen"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    PARKED = "parked"
    CANCELLED = "cancelled"


# Not sent yet: a refund may still take from these without touching Stripe, if they were never tried.
WAITING = {TransferState.PENDING, TransferState.HELD, TransferState.FROZEN}
RETRYABLE = {TransferState.FAILED, TransferState.PARKED, TransferState.FROZEN}


def transfer_ref(record_id):
    return db().collection(PAYOUT_TRANSFERS).document(record_id)


def _id(prefix, *parts):
    return prefix + hashlib.sha256("/".join(parts).encode()).hexdigest()[:23]


def _record(record_id, kind, splits, party, amount, state, now, **extra):
    return {"id": record_id, "type": kind, "order_id": splits["order_id"], "event_id": splits["event_id"],
            "party": party, "amount": amount, "currency": splits["currency"], "state": str(state), "attempts": 0,
            "attempted": False, "due_at": now if state == TransferState.PENDING else None, "claimed_until": None,
            "reference": None, "destination": None, "last_error": None, "reversed": 0, "generation": 0,
            "created_at": now, "updated_at": now, "settled_at": None, **extra}


def queue_transfer(tx, splits, party, amount, now, *, can_receive):
    """Inside the booking's transaction: owe ``party`` its ``amount`` of the order."""
    state = TransferState.PENDING if can_receive else TransferState.HELD
    record = _record(_id("t", splits["order_id"], party), "transfer", splits, party, amount, state, now,
                     transfer_group=connect.transfer_group(splits["order_id"]),
                     payment_reference=splits["payment_reference"])
    tx.create(transfer_ref(record["id"]), record)
    return record


def order_transfers(tx, order_id):
    query = db().collection(PAYOUT_TRANSFERS).where(filter=FieldFilter("order_id", "==", order_id))
    return [s.to_dict() for s in tx.query(query)]


def plan_take(transfer, amount):
    """How a refund takes ``amount`` back from ``transfer``: ``("reduce", n)`` of one never tried,
    ``("reverse", n)`` of one that may have reached Stripe (at most what is left of it), or ``(None, 0)``."""
    if amount <= 0:
        return None, 0
    if transfer["state"] in WAITING and not transfer["attempted"]:
        return "reduce", min(amount, transfer["amount"])
    amount = min(amount, transfer["amount"] - transfer["reversed"])
    return ("reverse", amount) if amount > 0 else (None, 0)


def take_back(tx, splits, transfer, amount, now, *, refund_id):
    """Inside a refund's booking: take ``amount`` of ``party``'s part back from its transfer. Returns the id of
    a reversal to send, or None when the transfer was never tried and is simply made smaller."""
    how, amount = plan_take(transfer, amount)
    if how is None:
        return None
    if how == "reduce":
        left = transfer["amount"] - amount
        tx.update(transfer_ref(transfer["id"]), {"amount": left, "updated_at": now, **(
            {"state": str(TransferState.CANCELLED), "due_at": None} if left == 0 else {})})
        transfer.update(amount=left)
        return None
    record = _record(_id("r", refund_id, transfer["party"]), "reversal", splits, transfer["party"], amount,
                     TransferState.PENDING, now, transfer_id=transfer["id"], refund_id=refund_id)
    tx.create(transfer_ref(record["id"]), record)
    tx.update(transfer_ref(transfer["id"]), {"reversed": transfer["reversed"] + amount, "updated_at": now})
    transfer.update(reversed=transfer["reversed"] + amount)
    return record["id"]


def set_frozen(tx, transfers, now, *, frozen):
    """A dispute freezes the order's unsent transfers (``frozen``); a won dispute lets them go again."""
    changed = []
    for transfer in transfers:
        if transfer["type"] != "transfer":
            continue
        if frozen and transfer["state"] in {TransferState.PENDING, TransferState.HELD}:
            tx.update(transfer_ref(transfer["id"]), {"state": str(TransferState.FROZEN), "due_at": None,
                                                     "updated_at": now})
            changed.append(transfer["id"])
        elif not frozen and transfer["state"] == TransferState.FROZEN:
            tx.update(transfer_ref(transfer["id"]), {"state": str(TransferState.PENDING), "due_at": now,
                                                     "updated_at": now})
            changed.append(transfer["id"])
    return changed


def _backoff(attempts):
    config = current_app.config
    return timedelta(seconds=min(config["PAYOUT_BACKOFF_MAX_SECONDS"],
                                 config["PAYOUT_BACKOFF_SECONDS"] * 2 ** max(0, attempts - 1)))


def _claim(record_id):
    """Lease a due record to this process: (record, what the Stripe call needs), or None when it is not due,
    someone else has it, or it must wait (an account that cannot receive, a transfer not made yet)."""
    def claim(tx):
        snapshot = tx.get(transfer_ref(record_id))
        now = utcnow()
        if not snapshot.exists:
            return None
        record = snapshot.to_dict()
        if (record["state"] != TransferState.PENDING or record["due_at"] is None or record["due_at"] > now
                or (record["claimed_until"] and record["claimed_until"] > now)):
            return None
        if record["type"] == "transfer":
            account = accounts.read_accounts(tx, [record["party"]]).get(record["party"])
            if not accounts.can_receive(account):
                tx.update(snapshot.reference, {"state": str(TransferState.HELD), "due_at": None, "updated_at": now})
                return None
            target = account["stripe_account_id"]
        else:
            transfer = tx.get(transfer_ref(record["transfer_id"])).to_dict()
            if transfer["state"] != TransferState.SUCCEEDED:
                tx.update(snapshot.reference, {"due_at": now + _backoff(1), "updated_at": now})
                return None
            target = transfer["reference"]
        tx.update(snapshot.reference, {"claimed_until": now + LEASE, "attempted": True, "updated_at": now})
        return record, target

    return run_staged(claim)


def _change(record_id, change):
    """Apply ``change(record, tx, now) -> updates`` to the record in one transaction; the record as it is then."""
    def apply(tx):
        snapshot = tx.get(transfer_ref(record_id))
        now = utcnow()
        current = snapshot.to_dict()
        updates = {**change(current, tx, now), "updated_at": now}
        tx.update(snapshot.reference, updates)
        return {**current, **updates}

    return run_staged(apply)


def _retry_later(record_id, message):
    def retry(current, tx, now):
        attempts = current["attempts"] + 1
        parked = attempts >= current_app.config["PAYOUT_MAX_ATTEMPTS"]
        return {"attempts": attempts, "claimed_until": None, "last_error": message[:500],
                **({"state": str(TransferState.PARKED), "due_at": None} if parked else
                   {"due_at": now + _backoff(attempts)})}

    updated = _change(record_id, retry)
    logger.warning("payout not sent payout=%s order=%s attempt=%d state=%s", record_id, updated["order_id"],
                   updated["attempts"], updated["state"])
    return updated["state"]


def _succeeded(reference, destination):
    def settle(current, tx, now):
        legs = (ledger.transfer_legs if current["type"] == "transfer" else ledger.reversal_legs)(
            current["party"], current["amount"])
        ledger.post(tx, current["type"], current["id"], legs, splits=current, now=now, reference=reference)
        return {"state": str(TransferState.SUCCEEDED), "reference": reference, "destination": destination,
                "attempts": current["attempts"] + 1, "claimed_until": None, "due_at": None, "last_error": None,
                "settled_at": now}

    return settle


def send_transfer(record_id):
    """Try one due transfer or reversal now. Returns its state afterwards, or None when it was not this
    process's to send."""
    claimed = _claim(record_id)
    if claimed is None:
        return None
    record, target = claimed
    try:
        if record["type"] == "transfer":
            source = connect.charge_of(record["payment_reference"]) if record.get("payment_reference") else None
            reference = connect.send_transfer(record, destination=target, source_transaction=source)
        else:
            reference = connect.send_reversal(record, transfer_reference=target)
    except ProviderUnavailable as exc:
        return _retry_later(record_id, str(exc))
    except connect.Refused as exc:
        updated = _change(record_id, lambda current, tx, now: {
            "state": str(TransferState.FAILED), "attempts": current["attempts"] + 1, "claimed_until": None,
            "due_at": None, "last_error": str(exc)})
        logger.error("payout refused payout=%s order=%s: %s", record_id, record["order_id"], exc)
        return updated["state"]
    updated = _change(record_id, _succeeded(reference, target if record["type"] == "transfer" else None))
    logger.info("payout succeeded payout=%s order=%s party=%s amount=%d", record_id, record["order_id"],
                record["party"], record["amount"])
    return updated["state"]


def send_soon(record_ids):
    """After the commit that recorded them: try them at once; the job retries whatever this leaves."""
    for record_id in record_ids:
        try:
            send_transfer(record_id)
        except Exception:  # the record is durable; the scheduler sends it if this attempt could not
            logger.exception("payout %s left to the scheduler", record_id)


def send_payouts(*, page=SWEEP_PAGE):
    """Scheduler job: send every transfer and reversal that is due. Safe to run twice or concurrently."""
    sent = 0
    query = db().collection(PAYOUT_TRANSFERS).where(filter=FieldFilter("due_at", "<=", utcnow())).order_by("due_at")
    for snapshot in query.limit(page).select([]).stream():
        try:
            sent += send_transfer(snapshot.id) is not None
        except gexc.Aborted:
            logger.info("payout %s left to a concurrent sender", snapshot.id)
    return sent


def release_held(party_id):
    """The party's account can receive money now: its held transfers are due at once, and sent."""
    query = (db().collection(PAYOUT_TRANSFERS).where(filter=FieldFilter("party", "==", party_id))
             .where(filter=FieldFilter("state", "==", str(TransferState.HELD))))
    released = []
    for snapshot in query.select([]).stream():
        def release(tx, ref=snapshot.reference):
            current = tx.get(ref)
            if current.get("state") != TransferState.HELD:
                return False
            now = utcnow()
            tx.update(ref, {"state": str(TransferState.PENDING), "due_at": now, "updated_at": now})
            return True

        if run_staged(release):
            released.append(snapshot.id)
    send_soon(released)
    return released


def list_transfers(*, state=None, limit, cursor=None):
    """Transfers and reversals in a state, newest first: failed, parked and frozen ones are an admin's."""
    query = db().collection(PAYOUT_TRANSFERS)
    if state:
        query = query.where(filter=FieldFilter("state", "==", str(state)))
    query = query.order_by("created_at", direction=Query.DESCENDING).order_by("__name__", direction=Query.DESCENDING)
    items, next_cursor = fetch_page(query, {"created_at": datetime}, limit=limit, cursor=cursor)
    return {"items": items, "next_cursor": next_cursor}


def retry_transfer(record_id):
    """An admin sends a failed, parked or frozen record again, with a fresh set of attempts."""
    snapshot = transfer_ref(record_id).get() if record_id.isalnum() else None
    if snapshot is None or not snapshot.exists:
        raise AppError("not_found", "No such transfer.")
    if snapshot.get("state") not in RETRYABLE:
        raise AppError("invalid_transition", f"The transfer is {snapshot.get('state')}; only failed, parked or "
                       "frozen ones are retried.", details={"from": snapshot.get("state"), "to": "pending"})
    # Stripe keeps the answer to an idempotency key: a refused record is sent under a new one. One that never
    # got an answer (parked) keeps its key, since Stripe may have made it.
    _change(record_id, lambda current, tx, now: {
        "state": str(TransferState.PENDING), "attempts": 0, "due_at": now, "claimed_until": None, "last_error": None,
        "generation": current["generation"] + (current["state"] == TransferState.FAILED)})
    send_soon([record_id])
    return transfer_ref(record_id).get().to_dict()
