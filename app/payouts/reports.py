"""Payout reports per party and period, from the ledger alone, and their CSV export.

Each row is one party in one currency over the movements of the period:
``gross`` (its part of what buyers paid, tips included), ``fees`` (the
platform's, net of fees given back), ``refunds``, ``disputes``, ``net``,
``paid_out`` (transferred less reversed) and ``pending`` (still on the
platform); with the default period, from the beginning, ``pending`` is what
the platform holds for the party now. ``waiting_for_account`` is the part of
it that waits because the party's connected account cannot receive money yet,
and ``frozen`` what a dispute holds back. The platform's own row shows its
fees. A party sees only its own rows; admins see everyone's.
"""
import csv
import io
from datetime import UTC, datetime

from google.cloud.firestore_v1 import FieldFilter

from app.auth import Role
from app.errors import AppError
from app.firebase import db
from app.payouts import accounts, ledger, parties, transfers
from app.timeutil import utcnow

BEGINNING = datetime(2000, 1, 1, tzinfo=UTC)
COLUMNS = ("party_id", "currency", "gross", "fees", "refunds", "disputes", "net", "paid_out", "pending",
           "waiting_for_account", "frozen", "account_status")
DISPUTES = {"dispute", "dispute_won"}


def _total(entries, movements, account):
    return sum(e["amount"] for e in entries if e["account"] == account and (movements is None or
                                                                            e["movement"] in movements))


def summarize(party_id, currency, entries):
    """One report row (amounts only) of ``party_id``'s ``entries`` in ``currency``."""
    if party_id == parties.PLATFORM:
        gross = _total(entries, {"platform_fee"}, "platform")
        fees, refunds = 0, -_total(entries, {"fee_refund"}, "platform")
        disputes = -_total(entries, DISPUTES, "platform")
        paid_out = pending = 0
    else:
        gross = _total(entries, {"charge"}, "held")
        fees = -_total(entries, {"platform_fee", "fee_refund"}, "held")
        refunds = -_total(entries, {"refund"}, "held")
        disputes = -_total(entries, DISPUTES, "held")
        paid_out, pending = _total(entries, None, "paid"), _total(entries, None, "held")
    return {"party_id": party_id, "currency": currency, "gross": gross, "fees": fees, "refunds": refunds,
            "disputes": disputes, "net": gross - fees - refunds - disputes, "paid_out": paid_out, "pending": pending}


def _waiting(party_id):
    """{(state, currency): amount} of the party's transfers that wait on the platform."""
    waiting = {}
    for state in (transfers.TransferState.HELD, transfers.TransferState.FROZEN):
        query = (db().collection(transfers.PAYOUT_TRANSFERS).where(filter=FieldFilter("party", "==", party_id))
                 .where(filter=FieldFilter("state", "==", str(state))))
        for doc in query.stream():
            key = (str(state), doc.get("currency"))
            waiting[key] = waiting.get(key, 0) + doc.get("amount")
    return waiting


def _party_rows(party_id, entries):
    status, waiting = None, {}
    if party_id != parties.PLATFORM:
        snapshot = accounts.account_ref(party_id).get()
        status = accounts.view(party_id, snapshot.to_dict() if snapshot.exists else None)["status"]
        waiting = _waiting(party_id)
    rows = []
    for currency in sorted({e["currency"] for e in entries} | {c for _, c in waiting}):
        row = summarize(party_id, currency, [e for e in entries if e["currency"] == currency])
        rows.append({**row, "waiting_for_account": waiting.get(("held", currency), 0),
                     "frozen": waiting.get(("frozen", currency), 0),
                     "account_status": status})
    return rows


def _whose(user, party_id):
    if party_id:
        return [parties.require_party(user, party_id)]
    if user.role == Role.ADMIN:
        return None
    return [parties.party_of("organizer", user.uid)]


def get_reports(user, *, party_id=None, start=None, end=None):
    """The report rows the user may see: one party's, the caller's own, or (admins) everyone's."""
    start, end = start or BEGINNING, end or utcnow()
    if end <= start:
        raise AppError("validation_error", details={"fields": {"to": ["Must be after from."]}})
    whose = _whose(user, party_id)
    if whose is None:
        entries = ledger.entries_between(start, end)
        whose = sorted({e["party"] for e in entries} - {ledger.BUYER})
        by_party = {p: [e for e in entries if e["party"] == p] for p in whose}
    else:
        by_party = {p: ledger.entries_between(start, end, party_id=p) for p in whose}
    rows = [row for party in whose for row in _party_rows(party, by_party[party])]
    return {"from": start, "to": end, "items": rows}


def reports_csv(user, **period):
    """The same rows as CSV, amounts in minor units."""
    report = get_reports(user, **period)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["from", "to", *COLUMNS], lineterminator="\n")
    writer.writeheader()
    for row in report["items"]:
        writer.writerow({"from": report["from"].isoformat(), "to": report["to"].isoformat(),
                         **{column: row[column] for column in COLUMNS}})
    return out.getvalue()
