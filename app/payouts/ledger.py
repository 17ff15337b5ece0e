"""The ledger: every movement of an order's money, as append-only entries that balance to zero.

A movement (``charge``, ``platform_fee``, ``transfer``, ``refund``,
``fee_refund``, ``reversal``, ``dispute``, ``dispute_won``) is written as legs
on accounts, one entry each, whose amounts add up to zero, so an order's
entries always add up to zero too. The accounts:

- ``buyer``: the buyer's card (negative: what the platform took from it);
- ``held`` of a party: its money on the platform's Stripe balance, not
  transferred yet (the report's ``pending``);
- ``paid`` of a party: what was transferred to its connected account;
- ``platform``: the platform's fees.

Entries are written with ``create()`` in the transaction of the change they
record, under ids made from the movement, so a movement is recorded once or
not at all; nothing ever updates or deletes one.
"""
from datetime import datetime

from google.cloud.firestore_v1 import FieldFilter

from app.auth import Role
from app.firebase import db
from app.pagination import fetch_page
from app.payouts import parties
from app.payouts.parties import PLATFORM

LEDGER = "ledger_entries"
BUYER = "buyer"


class Unbalanced(ValueError):
    """A movement whose legs do not add up to zero: a bug, refused before anything is written."""


def charge_legs(splits):
    """The buyer paid the order; each party's part (gross and tips) is held on the platform for it."""
    return [("buyer", BUYER, -splits["captured"])] + [
        ("held", p["party"], p["gross"] + p["tips"]) for p in splits["parties"]]


def fee_legs(splits):
    return [("held", p["party"], -p["fee"]) for p in splits["parties"]] + [("platform", PLATFORM,
                                                                         splits["platform_fee"])]


def refund_legs(refund_amount, split_refund):
    """The buyer gets ``refund_amount`` back: each party gives its part back (``refund``), and the platform
    returns its fee on it to the parties (``fee_refund``)."""
    refund = [("buyer", BUYER, refund_amount)] + [("held", party, -r["back"])
                                                  for party, r in sorted(split_refund["parties"].items())]
    fee_refund = [("held", party, r["fee_back"]) for party, r in sorted(split_refund["parties"].items())] + [
        ("platform", PLATFORM, -split_refund["fee_back"])]
    return refund, fee_refund


def transfer_legs(party, amount):
    return [("held", party, -amount), ("paid", party, amount)]


def reversal_legs(party, amount):
    return [("paid", party, -amount), ("held", party, amount)]


def dispute_legs(amount, party_shares, platform_share, *, won=False):
    """The cardholder's bank took ``amount`` back (or, ``won``, Stripe returned it)."""
    sign = -1 if won else 1
    return [("buyer", BUYER, sign * amount), ("platform", PLATFORM, -sign * platform_share)] + [
        ("held", party, -sign * share) for party, share in sorted(party_shares.items())]


def post(tx, movement, movement_id, legs, *, splits, now, reference=None):
    """Write one movement's legs (``[(account, party, amount)]``) inside the caller's transaction."""
    if sum(amount for _, _, amount in legs) != 0:
        raise Unbalanced(f"{movement} {movement_id} does not balance: {legs}")
    entries = []
    for index, (account, party, amount) in enumerate(legs):
        if amount == 0:
            continue
        ref = db().collection(LEDGER).document(f"{movement_id}-{index}")
        entry = {"id": ref.id, "order_id": splits["order_id"], "event_id": splits["event_id"], "movement": movement,
                 "movement_id": movement_id, "account": account, "party": party, "amount": amount,
                 "currency": splits["currency"], "reference": reference, "created_at": now}
        tx.create(ref, entry)
        entries.append(entry)
    return entries


def balances(entries):
    """{(account, party): amount} over ``entries``."""
    result = {}
    for entry in entries:
        key = (entry["account"], entry["party"])
        result[key] = result.get(key, 0) + entry["amount"]
    return result


def list_entries(*, party_id=None, order_id=None, limit, cursor=None):
    """Entries oldest first, of one party, one order, or (admins) all."""
    query = db().collection(LEDGER)
    if party_id:
        query = query.where(filter=FieldFilter("party", "==", party_id))
    if order_id:
        query = query.where(filter=FieldFilter("order_id", "==", order_id))
    query = query.order_by("created_at").order_by("__name__")
    items, next_cursor = fetch_page(query, {"created_at": datetime}, limit=limit, cursor=cursor)
    return {"items": items, "next_cursor": next_cursor}


def list_for(user, *, party_id=None, order_id=None, limit, cursor=None):
    """A party's own entries (an organizer's own by default), or for admins any party's, an order's or all."""
    if user.role != Role.ADMIN or party_id:
        party_id = parties.require_party(user, party_id or parties.party_of("organizer", user.uid))
    return list_entries(party_id=party_id, order_id=order_id, limit=limit, cursor=cursor)


def entries_between(start, end, *, party_id=None):
    """Every entry of ``party_id`` (or of everyone) created in [start, end), for the reports."""
    query = db().collection(LEDGER)
    if party_id:
        query = query.where(filter=FieldFilter("party", "==", party_id))
    query = query.where(filter=FieldFilter("created_at", ">=", start)).where(
        filter=FieldFilter("created_at", "<", end)).order_by("created_at")
    return [doc.to_dict() for doc in query.stream()]
