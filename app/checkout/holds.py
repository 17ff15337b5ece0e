"""Placing holds: a buyer's all-or-nothing claim on lines of any kind for HOLD_TTL_SECONDS.

A hold is the buyer's cart. It is one atomic write of the hold document, one
of the buyer's hold slots (the anti-scalping cap, ``MAX_ACTIVE_HOLDS_PER_EVENT``:
holds and unpaid orders) and one claim per inventory unit its lines' kinds
picked. When no claim needs taking over it is a batch of create()s with no read
at all; when one does (an expired hold's unit or slot), it is a transaction
that reads only those. A collision on a unit is told to the line's kind,
which learns and picks again (or refuses: a named seat is taken).
"""
import hashlib
import json
import logging
import random
import time
from datetime import timedelta
from enum import StrEnum

from flask import current_app
from google.api_core import exceptions as gexc
from google.cloud import firestore

from app.checkout import kinds, pricing
from app.checkout.signals import hold_changed
from app.errors import AppError
from app.events import service as events
from app.firebase import db
from app.inventory import claims, units
from app.inventory.units import HINT
from app.timeutil import utcnow
from app.venues import service as venues

logger = logging.getLogger(__name__)

HOLDS = "holds"
HOLD_SLOTS = "hold_slots"
MAX_ATTEMPTS = 30
# Paying a hold writes each claim and what each unit issues (a ticket) in one commit, and a refund deletes
# and voids them in one; Firestore takes at most 500 writes per commit. These caps keep every step of a
# hold's life well inside it, with room for the order, its audit entry and markers.
MAX_UNITS = 100
MAX_CLAIMS = 200
# Shown to buyers; internal fields of a line stay in Firestore.
LINE_FIELDS = ("id", "kind", "name", "quantity", "unit_price", "subtotal", "discount", "tax", "tax_inclusive",
               "service_fee", "tip", "total", "details")
# Ticket lines showed these at the top level before lines had kinds; clients still read them there.
TICKET_LINE_FIELDS = ("ticket_type_id", "seats")


class HoldState(StrEnum):
    ACTIVE = "active"
    CONVERTED = "converted"
    RELEASED = "released"
    EXPIRED = "expired"


class _Collision(Exception):
    """A unit or slot turned out to be taken between choosing and writing."""

    def __init__(self, doc_id):
        super().__init__(doc_id)
        self.doc_id = doc_id


def hold_ref(hold_id):
    return db().collection(HOLDS).document(hold_id)


def slot_ref(event_id, buyer_uid, index):
    digest = hashlib.sha256(f"{event_id}/{buyer_uid}/{index}".encode()).hexdigest()[:24]
    return db().collection(HOLD_SLOTS).document(digest)


def line_view(line):
    shown = {k: line[k] for k in LINE_FIELDS if k in line}
    return {**shown, **{k: line["details"][k] for k in TICKET_LINE_FIELDS if k in line.get("details", {})}}


def view(hold, now=None):
    """The hold as buyers see it: an active hold past its expiry is expired, swept or not."""
    now = now or utcnow()
    state = hold["state"]
    if state == HoldState.ACTIVE and hold["expires_at"] <= now:
        state = HoldState.EXPIRED
    hidden = {"unit_ids", "slot_id", "fingerprint", "items", "tax_rates"}
    return {**{k: v for k, v in hold.items() if k not in hidden}, "state": str(state),
            "items": [line_view(line) for line in hold["items"]]}


def request_fingerprint(event_id, lines):
    """What a retried request must repeat to replay the hold its Idempotency-Key made."""
    canonical = sorted(json.dumps(line, sort_keys=True, default=str) for line in lines)
    return hashlib.sha256(json.dumps([event_id, canonical]).encode()).hexdigest()


def _idempotent_hold_id(buyer_uid, key):
    return "k" + hashlib.sha256(f"{buyer_uid}/{key}".encode()).hexdigest()[:27]


def _replay(hold_id, buyer_uid, fingerprint):
    """The hold a retried request already created, or None."""
    snapshot = hold_ref(hold_id).get()
    if not snapshot.exists:
        return None
    hold = snapshot.to_dict()
    if hold["buyer_uid"] != buyer_uid or hold["fingerprint"] != fingerprint:
        raise AppError("idempotency_key_reused")
    return view(hold)


def _plan(event, lines, now, buyer_uid):
    """[Line] for the requested lines, each kind planning its own, after every rule that needs no write."""
    if not kinds.open_for_sale(event, {line["kind"] for line in lines}):
        raise AppError("event_not_on_sale", f"The event is {event['status']}.", details={"status": event["status"]})
    by_kind = {}
    for line in lines:
        by_kind.setdefault(line["kind"], []).append({k: v for k, v in line.items() if k != "kind"})
    plan = [planned for name, requests in by_kind.items()
            for planned in kinds.get_kind(name).plan(event, requests, now, buyer_uid=buyer_uid)]
    if len({line.currency for line in plan}) > 1:
        raise AppError("validation_error", "A hold is paid in one currency.",
                       details={"fields": {"items": ["These lines are priced in different currencies."]}})
    if (count := sum(line.quantity for line in plan)) > MAX_UNITS:
        raise AppError("validation_error", f"A hold has at most {MAX_UNITS} units.",
                       details={"fields": {"items": [f"{count} units; at most {MAX_UNITS} per hold."]},
                                "limit": MAX_UNITS})
    return plan


def _free_slot(event_id, buyer_uid, now):
    """(slot ref, whether it must be taken over) for the buyer's next hold, or 409 at the cap."""
    cap = current_app.config["MAX_ACTIVE_HOLDS_PER_EVENT"]
    refs = [slot_ref(event_id, buyer_uid, i) for i in range(cap)]
    snapshots = {s.reference.id: s for s in db().get_all(refs, field_paths=["live_until"])}
    for ref in refs:
        snapshot = snapshots.get(ref.id)
        if snapshot is None or not snapshot.exists:
            return ref, False
        if snapshot.get("live_until") <= now:
            return ref, True
    raise AppError("too_many_holds", f"A buyer may have at most {cap} holds and unpaid orders per event.",
                   details={"limit": cap})


def _choose(plan, attempts, now, flight):
    """{claim id: (line index, pool id, unit)} for one attempt, each line's kind picking its units."""
    chosen = {}
    for index, line in enumerate(plan):
        for doc_id, (pool_id, unit) in kinds.get_kind(line.kind).pick(line, attempts, now, flight).items():
            chosen[doc_id] = (index, pool_id, unit)
    if len(chosen) > MAX_CLAIMS:
        raise AppError("validation_error", f"A hold claims at most {MAX_CLAIMS} units of stock.",
                       details={"fields": {"items": [f"{len(chosen)} units of stock; at most {MAX_CLAIMS}."]},
                                "limit": MAX_CLAIMS})
    return chosen


def hold_document(hold_id, event_id, buyer_uid, plan, chosen, *, tax_rates, slot_id, fingerprint, now,
                  expires_at):
    """A new hold of ``plan`` [Line] claiming ``chosen`` {claim id: (line index, pool id, unit)}."""
    stored = []
    for index, line in enumerate(plan):
        mine = [{"unit_id": d, "pool": p, "unit": u} for d, (i, p, u) in chosen.items() if i == index]
        stored.append(line.stored(index, mine))
    # The rates the buyer was shown stay with the hold, so its order is priced as it was held.
    rates = {line["tax_category"]: tax_rates[line["tax_category"]] for line in stored
             if line["tax_category"] in tax_rates}
    lines, _, totals = pricing.price(stored, tax_rates=rates)
    return {
        "id": hold_id, "event_id": event_id, "buyer_uid": buyer_uid, "state": str(HoldState.ACTIVE),
        "currency": plan[0].currency, **totals, "expires_at": expires_at, "created_at": now, "updated_at": now,
        "fingerprint": fingerprint, "slot_id": slot_id, "unit_ids": list(chosen), "items": lines, "tax_rates": rates,
    }


def slot_document(hold, live_until):
    """The buyer's hold slot taken by ``hold`` until ``live_until``; an order it becomes takes it over."""
    return {"event_id": hold["event_id"], "buyer_uid": hold["buyer_uid"], "hold_id": hold["id"], "order_id": None,
            "live_until": live_until}


def _write(hold, slot, slot_takeover, chosen, taken_over, expires_at, now):
    slot_doc = slot_document(hold, expires_at)
    takeovers = [doc_id for doc_id in chosen if doc_id in taken_over]

    def claim(doc_id):
        _, pool_id, unit = chosen[doc_id]
        return claims.claimed(hold, pool_id, unit, expires_at, now)

    if not takeovers and not slot_takeover:
        batch = db().batch()
        batch.create(hold_ref(hold["id"]), hold)
        batch.create(slot, slot_doc)
        for doc_id in chosen:
            batch.create(units.unit_ref(doc_id), claim(doc_id))
        batch.commit()
        return

    @firestore.transactional
    def commit(transaction):
        stale = [units.unit_ref(d) for d in takeovers] + ([slot] if slot_takeover else [])
        for snapshot in transaction.get_all(stale):
            if snapshot.exists and snapshot.get("live_until") > now:
                raise _Collision(snapshot.id)
        transaction.create(hold_ref(hold["id"]), hold)
        transaction.set(slot, slot_doc) if slot_takeover else transaction.create(slot, slot_doc)
        for doc_id in chosen:
            ref = units.unit_ref(doc_id)
            transaction.set(ref, claim(doc_id)) if doc_id in taken_over else transaction.create(ref, claim(doc_id))

    commit(db().transaction())


def place_hold(event_id, buyer_uid, *, lines, idempotency_key=None):
    """Hold ``lines`` (each ``{"kind", ...the kind's fields}``) for the buyer; a retried key replays."""
    fingerprint = request_fingerprint(event_id, lines)
    if idempotency_key:
        hold_id = _idempotent_hold_id(buyer_uid, idempotency_key)
        if (replayed := _replay(hold_id, buyer_uid, fingerprint)) is not None:
            return replayed
    else:
        hold_id = db().collection(HOLDS).document().id

    now = utcnow()
    event = events.get_event(event_id)
    plan = _plan(event, lines, now, buyer_uid)
    tax_rates = venues.get_venue(event["venue_id"]).get("tax_rates") or {}
    expires_at = now + timedelta(seconds=current_app.config["HOLD_TTL_SECONDS"])

    attempts, slot = claims.Attempts(), None
    for attempt in range(MAX_ATTEMPTS):
        with HINT.trying() as flight:
            chosen = _choose(plan, attempts, now, flight)
            if slot is None:
                # Read after choosing, so buyers of a sold-out pool hear it with no read of their slots.
                slot, slot_takeover = _free_slot(event_id, buyer_uid, now)
            hold = hold_document(hold_id, event_id, buyer_uid, plan, chosen, tax_rates=tax_rates, slot_id=slot.id,
                                 fingerprint=fingerprint, now=now, expires_at=expires_at)
            try:
                _write(hold, slot, slot_takeover, chosen, attempts.taken_over, expires_at, now)
            except (gexc.AlreadyExists, _Collision) as exc:
                collection, doc_id = ((None, exc.doc_id) if isinstance(exc, _Collision)
                                      else units.collided_document(exc))
                if collection == HOLDS or collection is None and doc_id is None:
                    if (replayed := _replay(hold_id, buyer_uid, fingerprint)) is not None:
                        return replayed
                if doc_id in chosen:
                    index, _, unit = chosen[doc_id]
                    kinds.get_kind(plan[index].kind).collided(plan[index], doc_id, unit, attempts, now)
                elif collection in (HOLD_SLOTS, None):
                    slot = None  # another request of this buyer took that slot, or Firestore did not say
            else:
                claims.remember([(p, u) for _, p, u in chosen.values()], expires_at)
                logger.info("hold placed hold=%s event=%s units=%d", hold_id, event_id, len(chosen))
                hold_changed.send(hold)
                return view(hold, now)
        # Buyers who collided chose from the same read: spread their next tries apart.
        time.sleep(random.uniform(0, min(0.05, 0.005 * (attempt + 1))))
        now = utcnow()
    raise AppError("busy", "Too many buyers at once for these units; try again.")
