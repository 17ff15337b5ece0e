"""Connected accounts: each venue's and organizer's Stripe Connect account and whether it can be paid.

A party opens its account (Express by default, or Standard), is sent through
Stripe's hosted onboarding by an account link, and Stripe reports the
outcome with ``account.updated``. Money is transferred only to an account
whose charges and payouts are both enabled; until then a party's transfers
wait on the platform (``held``), and they are released the moment Stripe says
the account is enabled.
"""
import logging

from google.api_core import exceptions as gexc
from google.cloud.firestore_v1 import FieldFilter

from app.errors import AppError
from app.firebase import db
from app.payouts import connect, parties
from app.staged import run_staged
from app.timeutil import utcnow

logger = logging.getLogger(__name__)

PAYOUT_ACCOUNTS = "payout_accounts"
ACCOUNT_TYPES = ("express", "standard")


def account_ref(party_id):
    return db().collection(PAYOUT_ACCOUNTS).document(party_id)


def can_receive(account):
    return bool(account) and account["charges_enabled"] and account["payouts_enabled"]


def _status(account):
    if can_receive(account):
        return "enabled"
    return "restricted" if account["details_submitted"] else "onboarding"


def _flags(stripe_account):
    requirements = stripe_account.get("requirements") or {}
    return {"charges_enabled": bool(stripe_account.get("charges_enabled")),
            "payouts_enabled": bool(stripe_account.get("payouts_enabled")),
            "details_submitted": bool(stripe_account.get("details_submitted")),
            "requirements_due": sorted(requirements.get("currently_due") or [])}


def view(party_id, account):
    if account is None:
        return {"party_id": party_id, "status": "none", "stripe_account_id": None}
    return {**account, "status": _status(account)}


def get_account(party_id, user):
    parties.require_party(user, party_id)
    snapshot = account_ref(party_id).get()
    return view(party_id, snapshot.to_dict() if snapshot.exists else None)


def open_account(party_id, user, *, account_type="express", country=None):
    """The party's connected account, created at Stripe the first time (a retry creates no second one)."""
    parties.require_party(user, party_id)
    ref = account_ref(party_id)
    snapshot = ref.get()
    if snapshot.exists:
        return view(party_id, snapshot.to_dict())
    created = connect.create_account(party_id, account_type=account_type, country=country)
    now = utcnow()
    account = {"party_id": party_id, "stripe_account_id": created["id"], "type": account_type, **_flags(created),
               "created_by": user.uid, "created_at": now, "updated_at": now}
    try:
        ref.create(account)
    except gexc.AlreadyExists:
        account = ref.get().to_dict()
    logger.info("connected account party=%s account=%s", party_id, account["stripe_account_id"])
    return view(party_id, account)


def onboarding_link(party_id, user, *, refresh_url, return_url):
    """A single-use link to Stripe's hosted onboarding for the party's account."""
    parties.require_party(user, party_id)
    snapshot = account_ref(party_id).get()
    if not snapshot.exists:
        raise AppError("no_payout_account")
    link = connect.account_link(snapshot.get("stripe_account_id"), refresh_url=refresh_url, return_url=return_url)
    return {"party_id": party_id, "url": link["url"], "expires_at": link["expires_at"]}


def read_accounts(tx, party_ids):
    """{party id: its account record} of those of ``party_ids`` that have one."""
    snapshots = tx.get_all([account_ref(p) for p in party_ids]) if party_ids else []
    return {s.id: s.to_dict() for s in snapshots if s.exists}


def _find(tx, stripe_account):
    party_id = (stripe_account.get("metadata") or {}).get("party_id")
    if parties.parse(party_id) is not None:
        snapshot = tx.get(account_ref(party_id))
        if snapshot.exists and snapshot.get("stripe_account_id") == stripe_account["id"]:
            return snapshot
    query = db().collection(PAYOUT_ACCOUNTS).where(filter=FieldFilter("stripe_account_id", "==", stripe_account["id"]))
    found = tx.query(query.limit(1))
    return found[0] if found else None


def apply_account_update(stripe_account, once):
    """``account.updated``: record what Stripe says the account can do, once, with the webhook's marker.
    Returns (outcome, party id when the account can now receive money)."""
    def apply(tx):
        if tx.get(once[0]).exists:
            return "duplicate", None
        snapshot = _find(tx, stripe_account)
        now = utcnow()
        outcome, opened = "unknown_account", None
        if snapshot is not None:
            before = snapshot.to_dict()
            after = {**before, **_flags(stripe_account), "updated_at": now}
            tx.update(snapshot.reference, after)
            outcome = "account_updated"
            opened = snapshot.id if can_receive(after) and not can_receive(before) else None
        tx.create(once[0], {**once[1], "party_id": snapshot.id if snapshot else None, "outcome": outcome,
                            "created_at": now})
        return outcome, opened

    outcome, opened = run_staged(apply)
    logger.info("connected account %s account=%s", outcome, stripe_account["id"])
    return outcome, opened
