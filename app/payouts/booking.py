"""Booking an order's money: its splits, its ledger entries and the transfers they owe, in one transaction.

The orders domain announces a paid order, a refund and (through the webhook
hook) a dispute; this module books each once. Money paid through Stripe is on
the platform's balance: it is booked in the ledger and each party's part is
transferred. Money taken at the box office (``manual``) never reaches the
platform: its splits are stored, so everyone can see what the order owes
whom, but nothing is booked or transferred.
"""
import logging

from flask import current_app
from google.cloud.firestore_v1 import FieldFilter

from app.errors import AppError
from app.events import service as events
from app.firebase import db
from app.money import from_stripe
from app.payouts import accounts, ledger, parties, rules, transfers
from app.payouts import splits as split_math
from app.staged import run_staged
from app.timeutil import utcnow

logger = logging.getLogger(__name__)

PAYMENT_SPLITS = "payment_splits"
# Payment methods whose money lands on the platform's Stripe balance.
THROUGH_PLATFORM = {"stripe"}


def splits_ref(order_id):
    return db().collection(PAYMENT_SPLITS).document(order_id)


def book_payment(order):
    """``order_paid``: split the order and book what the platform received; returns the queued transfers."""
    if order["total"] == 0:
        return []
    ref = splits_ref(order["id"])

    def book(tx):
        if tx.get(ref).exists:
            return None
        event = events.read_event(tx, order["event_id"])
        kinds = sorted({unit["kind"] for unit in order["units"]})
        splits = split_math.build(order, event, rules.read_rules(tx, event, kinds))
        now = utcnow()
        through = order["payment"]["method"] in THROUGH_PLATFORM
        splits.update(collected_by="platform" if through else "box_office", created_at=now, updated_at=now)
        queued = []
        if through:
            receiving = accounts.read_accounts(tx, splits["party_ids"])
            reference = splits["payment_reference"]
            ledger.post(tx, "charge", f"{order['id']}.charge", ledger.charge_legs(splits), splits=splits, now=now,
                        reference=reference)
            ledger.post(tx, "platform_fee", f"{order['id']}.fee", ledger.fee_legs(splits), splits=splits, now=now,
                        reference=reference)
            for part in splits["parties"]:
                if part["net"] > 0:
                    queued.append(transfers.queue_transfer(
                        tx, splits, part["party"], part["net"], now,
                        can_receive=accounts.can_receive(receiving.get(part["party"]))))
        tx.create(ref, splits)
        return queued

    queued = run_staged(book)
    if queued is None:
        return []
    logger.info("order split order=%s transfers=%d", order["id"], len(queued))
    transfers.send_soon([t["id"] for t in queued if t["state"] == transfers.TransferState.PENDING])
    return queued


def book_refund(order, refund):
    """``order_refunded``: each party gives back its part of the refunded units; what was transferred already
    is reversed in proportion, what was not is taken from the transfer before it is sent."""
    ref = splits_ref(order["id"])

    def book(tx):
        snapshot = tx.get(ref)
        if not snapshot.exists or refund["id"] in snapshot.get("refunds_booked"):
            return []
        splits = snapshot.to_dict()
        keys = set(refund["unit_keys"]) - set(splits["refunded_keys"])
        refund_fee = current_app.config["PAYOUT_REFUND_PLATFORM_FEE"]
        split_refund = split_math.refund_split(splits, keys, refund_fee=refund_fee)
        balances, losses = split_math.after_refund(splits, split_refund)
        now = utcnow()
        reversals = []
        if splits["collected_by"] == "platform":
            refund_legs, fee_refund_legs = ledger.refund_legs(refund["amount"], split_refund)
            ledger.post(tx, "refund", f"{refund['id']}.refund", refund_legs, splits=splits, now=now,
                        reference=refund["id"])
            ledger.post(tx, "fee_refund", f"{refund['id']}.fee", fee_refund_legs, splits=splits, now=now,
                        reference=refund["id"])
            owed = {t["party"]: t for t in transfers.order_transfers(tx, order["id"]) if t["type"] == "transfer"}
            for party, loss in sorted(losses.items()):
                if party in owed:
                    reversal = transfers.take_back(tx, splits, owed[party], loss, now, refund_id=refund["id"])
                    reversals += [reversal] if reversal else []
        tx.update(ref, {**balances, "updated_at": now,
                        "refunded_keys": sorted(set(splits["refunded_keys"]) | keys),
                        "refunds_booked": splits["refunds_booked"] + [refund["id"]]})
        return reversals

    reversals = run_staged(book)
    transfers.send_soon(reversals)
    return reversals


def _splits_of_payment(tx, payment_reference):
    if not payment_reference:
        return None
    query = db().collection(PAYMENT_SPLITS).where(filter=FieldFilter("payment_reference", "==", payment_reference))
    found = tx.query(query.limit(1))
    return found[0] if found else None


def _open_dispute(tx, snapshot, dispute, now):
    splits = snapshot.to_dict()
    if splits["dispute"] is not None:
        return "ignored", []
    amount = from_stripe(dispute["amount"], dispute["currency"].upper())
    party_shares, platform_share = split_math.dispute_split(splits, amount)
    ledger.post(tx, "dispute", f"{dispute['id']}.opened", ledger.dispute_legs(amount, party_shares, platform_share),
                splits=splits, now=now, reference=dispute["id"])
    opened = {"id": dispute["id"], "amount": amount, "status": "open", "platform_share": platform_share,
              "party_shares": [{"party": p, "amount": a} for p, a in sorted(party_shares.items())], "opened_at": now}
    tx.update(snapshot.reference, {**split_math.after_losses(splits, party_shares, platform_share),
                                   "dispute": opened, "updated_at": now})
    transfers.set_frozen(tx, transfers.order_transfers(tx, splits["order_id"]), now, frozen=True)
    return "dispute_opened", []


def _close_dispute(tx, snapshot, dispute, now):
    splits = snapshot.to_dict()
    opened = splits["dispute"]
    if opened is None or opened["id"] != dispute["id"] or opened["status"] != "open":
        return "ignored", []
    if dispute["status"] != "won":
        tx.update(snapshot.reference, {"dispute": {**opened, "status": "lost", "closed_at": now}, "updated_at": now})
        return "dispute_lost", []
    party_shares = {share["party"]: share["amount"] for share in opened["party_shares"]}
    ledger.post(tx, "dispute_won", f"{dispute['id']}.won",
                ledger.dispute_legs(opened["amount"], party_shares, opened["platform_share"], won=True),
                splits=splits, now=now, reference=dispute["id"])
    given_back = split_math.after_losses(splits, {p: -a for p, a in party_shares.items()}, -opened["platform_share"])
    tx.update(snapshot.reference, {**given_back, "dispute": {**opened, "status": "won", "closed_at": now},
                                   "updated_at": now})
    return "dispute_won", transfers.set_frozen(tx, transfers.order_transfers(tx, splits["order_id"]), now,
                                               frozen=False)


def apply_dispute(dispute, once, *, closed):
    """``charge.dispute.created`` freezes the order's unsent transfers and books the amount the bank took back;
    ``charge.dispute.closed`` won gives it back and lets them go. Applied once, with the webhook's marker."""
    def apply(tx):
        if tx.get(once[0]).exists:
            return "duplicate", []
        snapshot = _splits_of_payment(tx, dispute.get("payment_intent"))
        now = utcnow()
        outcome, released = "unknown_payment", []
        if snapshot is not None and snapshot.get("collected_by") == "platform":
            outcome, released = (_close_dispute if closed else _open_dispute)(tx, snapshot, dispute, now)
        tx.create(once[0], {**once[1], "order_id": snapshot.id if snapshot else None, "outcome": outcome,
                            "created_at": now})
        return outcome, released

    outcome, released = run_staged(apply)
    logger.info("dispute %s dispute=%s", outcome, dispute["id"])
    transfers.send_soon(released)
    return outcome


def get_splits(order_id, user):
    """The order's payment splits, for its parties and admins."""
    snapshot = splits_ref(order_id).get() if order_id.isalnum() else None
    if snapshot is None or not snapshot.exists or not parties.sees_any(user, snapshot.get("party_ids")):
        raise AppError("not_found", "No splits for such an order.")
    return snapshot.to_dict()
