"""Split rules: the platform's fee and the shares of the rest, per event, venue or platform and line kind.

A rule applies to the lines of one kind (by name, so a kind another package
registers later is covered the day it arrives) in one scope: an event, a
venue, or the whole platform. The most specific wins: the event's, then the
venue's, then the platform's, then the built-in default (tickets to the
event's organizer, every other kind to the venue; tips to the venue, which
runs the stands; the fee from ``PAYOUT_FEE_BASIS_POINTS`` and
``PAYOUT_FEE_FIXED``).

Rules are versioned: each change (and a deletion) is a new version, kept in
the rule's ``versions``; an order's splits store the version they used, in
full, so changing a rule never changes what was split.
"""
import re

from flask import current_app
from google.cloud.firestore_v1 import FieldFilter

from app.errors import AppError, field_error
from app.events import service as events
from app.firebase import db
from app.pagination import fetch_page
from app.payouts import parties
from app.staged import run_staged
from app.timeutil import utcnow
from app.venues import service as venues

SPLIT_RULES = "split_rules"
VERSIONS = "versions"
BASIS = 10_000
FEE_BASES = ("price", "all_but_tip")
# What each kind's money belongs to when no rule says otherwise.
DEFAULT_OWNER = {"ticket": "organizer"}
DEFAULT_TIPS_TO = "venue"
RULE_ID = re.compile(r"((event|venue):[A-Za-z0-9_-]{1,64}|platform):[a-z][a-z0-9_]{0,31}")


def rule_id(kind, *, venue_id=None, event_id=None):
    if event_id:
        return f"event:{event_id}:{kind}"
    if venue_id:
        return f"venue:{venue_id}:{kind}"
    return f"platform:{kind}"


def _ref(rule_id_):
    # Firestore refuses some ids ("..", "__x__"); a URL should answer 404, not 500.
    if not RULE_ID.fullmatch(rule_id_):
        raise AppError("not_found", "No such split rule.")
    return db().collection(SPLIT_RULES).document(rule_id_)


def default_rule(kind):
    config = current_app.config
    return {"id": f"default:{kind}", "scope": "default", "venue_id": None, "event_id": None, "kind": kind,
            "fee_basis_points": config["PAYOUT_FEE_BASIS_POINTS"], "fee_fixed": config["PAYOUT_FEE_FIXED"],
            "fee_base": "price", "shares": [{"party": DEFAULT_OWNER.get(kind, "venue"), "basis_points": BASIS}],
            "tips_to": DEFAULT_TIPS_TO, "version": 0, "deleted": False}


def _check_share_party(name, field):
    if name not in parties.ROLES and parties.parse(name) is None:
        raise field_error(field, f"{name!r} is neither a role (venue, organizer) nor a party id "
                                 "(venue:<id>, organizer:<uid>).")


def validate(shares, tips_to):
    """Shares name each party once and add up to 100% (10000 basis points)."""
    names = [share["party"] for share in shares]
    for name in names:
        _check_share_party(name, "shares")
    if len(set(names)) != len(names):
        raise field_error("shares", "Each party appears once.")
    if sum(share["basis_points"] for share in shares) != BASIS:
        raise field_error("shares", f"The shares add up to {sum(s['basis_points'] for s in shares)} basis points; "
                                    f"they must add up to {BASIS} (100%).")
    _check_share_party(tips_to, "tips_to")


def _check_scope(venue_id, event_id):
    if venue_id and event_id:
        raise field_error("event_id", "A rule is for an event or a venue, not both.")
    try:
        if event_id:
            _event_exists(event_id)
        if venue_id:
            venues.get_venue(venue_id)
    except AppError:
        raise field_error("event_id" if event_id else "venue_id", "No such event or venue.") from None


def _event_exists(event_id):
    # Deleted events still count: their orders are split by their rules.
    if not events.DOCUMENT_ID.fullmatch(event_id) or run_staged(lambda tx: events.read_event(tx, event_id)) is None:
        raise AppError("not_found")


def save_rule(user, *, kind, shares, fee_basis_points=0, fee_fixed=0, fee_base="price", tips_to=DEFAULT_TIPS_TO,
              venue_id=None, event_id=None):
    """Add a new version of the rule for ``kind`` in its scope (an admin sets the platform's terms)."""
    validate(shares, tips_to)
    _check_scope(venue_id, event_id)
    ref = _ref(rule_id(kind, venue_id=venue_id, event_id=event_id))

    def save(tx):
        current = tx.get(ref)
        now = utcnow()
        version = current.get("version") + 1 if current.exists else 1
        rule = {"id": ref.id, "scope": "event" if event_id else "venue" if venue_id else "platform",
                "venue_id": venue_id, "event_id": event_id, "kind": kind, "fee_basis_points": fee_basis_points,
                "fee_fixed": fee_fixed, "fee_base": fee_base, "shares": shares, "tips_to": tips_to,
                "version": version, "deleted": False, "created_by": user.uid,
                "created_at": current.get("created_at") if current.exists else now, "updated_at": now}
        tx.set(ref, rule)
        tx.create(ref.collection(VERSIONS).document(str(version)), rule)
        return rule

    return run_staged(save)


def delete_rule(user, rule_id_):
    """Retire a rule: a last version marked deleted, so the next less specific rule applies from now on."""
    ref = _ref(rule_id_)

    def retire(tx):
        current = tx.get(ref)
        if not current.exists or current.get("deleted"):
            raise AppError("not_found", "No such split rule.")
        now = utcnow()
        rule = {**current.to_dict(), "version": current.get("version") + 1, "deleted": True, "created_by": user.uid,
                "updated_at": now}
        tx.set(ref, rule)
        tx.create(ref.collection(VERSIONS).document(str(rule["version"])), rule)

    run_staged(retire)


def read_rules(tx, event, kinds):
    """{kind: the rule that applies} for an order of ``event``, read inside the caller's transaction."""
    wanted = {kind: [rule_id(kind, event_id=event["id"]), rule_id(kind, venue_id=event["venue_id"]),
                     rule_id(kind)] for kind in kinds}
    found = {s.id: s.to_dict() for s in tx.get_all([_ref(i) for ids in wanted.values() for i in ids]) if s.exists}
    return {kind: next((found[i] for i in ids if i in found and not found[i]["deleted"]), None) or default_rule(kind)
            for kind, ids in wanted.items()}


def list_rules(*, venue_id=None, event_id=None, kind=None, limit, cursor=None):
    """Stored rules (their current versions, deleted ones included), by id."""
    query = db().collection(SPLIT_RULES)
    for field, value in (("venue_id", venue_id), ("event_id", event_id), ("kind", kind)):
        if value:
            query = query.where(filter=FieldFilter(field, "==", value))
    items, next_cursor = fetch_page(query.order_by("__name__"), {}, limit=limit, cursor=cursor)
    return {"items": items, "next_cursor": next_cursor}


def effective_rules(event_id, user, kinds):
    """The rule each kind's lines of the event are split by now, for its organizer, its venue's owner and admins."""
    def read(tx):
        event = events.read_event(tx, event_id) if events.DOCUMENT_ID.fullmatch(event_id) else None
        if event is None:
            raise events.not_found()
        if not parties.sees_any(user, parties.order_parties(event).values()):
            raise events.not_found()
        return read_rules(tx, event, kinds)

    return [rule for _, rule in sorted(run_staged(read).items())]
