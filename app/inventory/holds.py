"""Placing holds: a buyer's all-or-nothing claim on units for HOLD_TTL_SECONDS.

A hold is one atomic write of the hold document, one of the buyer's hold
slots (the anti-scalping cap) and one claim per unit. When no claim needs
taking over it is a batch of create()s with no read at all; when one does
(an expired hold's unit or slot), it is a transaction that reads only those.
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

from app.errors import AppError
from app.events import service as events
from app.firebase import db
from app.inventory import units
from app.inventory.signals import hold_changed
from app.inventory.units import HINT
from app.timeutil import utcnow
from app.venues import service as venues

logger = logging.getLogger(__name__)

HOLDS = "holds"
HOLD_SLOTS = "hold_slots"
MAX_ATTEMPTS = 30
FRESH_AFTER_COLLISIONS = 3
PROBE_SIZE = 16
MAX_PROBES = 4


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


def view(hold, now=None):
    """The hold as buyers see it: an active hold past its expiry is expired, swept or not."""
    now = now or utcnow()
    state = hold["state"]
    if state == HoldState.ACTIVE and hold["expires_at"] <= now:
        state = HoldState.EXPIRED
    items = [{k: v for k, v in item.items() if k not in {"unit_ids", "units"}} for item in hold["items"]]
    return {**{k: v for k, v in hold.items() if k not in {"unit_ids", "slot_id", "fingerprint"}},
            "state": str(state), "items": items}


def request_fingerprint(event_id, items, seats):
    """What a retried request must repeat to replay the hold its Idempotency-Key made."""
    body = {"event_id": event_id, "items": sorted((i["ticket_type_id"], i["quantity"]) for i in items or []),
            "seats": sorted(seats or [])}
    return hashlib.sha256(json.dumps(body).encode()).hexdigest()


def _idempotent_hold_id(buyer_uid, key):
    return "k" + hashlib.sha256(f"{buyer_uid}/{key}".encode()).hexdigest()[:27]


def _replay(hold_id, buyer_uid, fingerprint):
    """The hold a retried request already created, or None."""
    snapshot = hold_ref(hold_id).get()
    if not snapshot.exists:
        return None
    hold = snapshot.to_dict()
    if hold["buyer_uid"] != buyer_uid or hold["fingerprint"] != fingerprint:
        raise AppError("idempotency_key_reused", "This Idempotency-Key was used for a different request.")
    return view(hold)


def _require_on_sale(event, ticket_type, now):
    if event["status"] != "published":
        raise AppError("event_not_on_sale", f"The event is {event['status']}.", details={"status": event["status"]})
    starts, ends = ticket_type.get("sales_starts_at"), ticket_type.get("sales_ends_at")
    if (starts and now < starts) or (ends and now >= ends) or now >= event["starts_at"]:
        raise AppError("not_on_sale", f"{ticket_type['name']} is not on sale now.",
                       details={"ticket_type_id": ticket_type["id"], "sales_starts_at": starts,
                                "sales_ends_at": ends})


def _require_limit(ticket_type, quantity):
    if quantity > ticket_type["per_order_limit"]:
        raise AppError("per_order_limit", f"At most {ticket_type['per_order_limit']} of {ticket_type['name']} "
                       "per order.",
                       details={"ticket_type_id": ticket_type["id"], "limit": ticket_type["per_order_limit"]})


def _unknown_ticket_type(ticket_type_id):
    return AppError("validation_error", "The event has no such ticket type.",
                    details={"fields": {"items": [f"Unknown ticket type {ticket_type_id}."]}})


def sellable_units(event, ticket_type):
    """The ticket type's unit keys: numbers for general admission, seat ids for seated."""
    if ticket_type["kind"] == "seated":
        venue = venues.get_venue(event["venue_id"])
        return venues.list_seats(venue, ticket_type["sections"])
    return range(ticket_type.get("unit_count") or ticket_type["capacity"])


def _plan(event, ticket_types, items, seats, now):
    """[(ticket_type, quantity, requested seats or None)] after every rule that needs no write."""
    plan = []
    for item in items or []:
        ticket_type = ticket_types.get(item["ticket_type_id"])
        if ticket_type is None:
            raise _unknown_ticket_type(item["ticket_type_id"])
        if ticket_type["kind"] == "seated":
            raise AppError("validation_error", "Seated tickets are held by seat.",
                           details={"fields": {"items": [f"{ticket_type['name']} is seated: send seats."]}})
        plan.append((ticket_type, item["quantity"], None))
    by_section = {section: t for t in ticket_types.values() if t["kind"] == "seated" for section in t["sections"]}
    grouped = {}
    for seat in seats or []:
        ticket_type = by_section.get(seat.split(":", 1)[0])
        if ticket_type is None:
            raise AppError("validation_error", "No ticket type sells this seat.",
                           details={"fields": {"seats": [f"Unknown seat {seat}."]}})
        grouped.setdefault(ticket_type["id"], (ticket_type, []))[1].append(seat)
    for ticket_type, wanted in grouped.values():
        known = set(sellable_units(event, ticket_type))
        if unknown := sorted(set(wanted) - known):
            raise AppError("validation_error", "The seat map has no such seat.",
                           details={"fields": {"seats": [f"Unknown seat {s}." for s in unknown]}})
        plan.append((ticket_type, len(wanted), sorted(wanted)))
    for ticket_type, quantity, _ in plan:
        _require_on_sale(event, ticket_type, now)
        _require_limit(ticket_type, quantity)
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
    raise AppError("too_many_holds", f"A buyer may have at most {cap} active holds per event.",
                   details={"limit": cap})


def _choose(event, plan, taken_over, tried, now, flight):
    """{unit doc id: (ticket type id, unit)} for one attempt."""
    chosen = {}
    for ticket_type, quantity, seats in plan:
        tid = ticket_type["id"]
        if seats is not None:
            picks = seats
        elif len(tried.get(tid, ())) >= FRESH_AFTER_COLLISIONS:
            # The hint knows only this process's claims; after a few collisions ask Firestore instead of
            # guessing on, or a sold-out ticket type would run a buyer out of attempts.
            tried[tid] = set()
            picks = _fresh_candidates(ticket_type, sellable_units(event, ticket_type), quantity, now, flight)
        else:
            picks = _pick_units(event, ticket_type, quantity, taken_over, tried.get(tid, set()), now, flight)
        for unit in picks:
            chosen[units.unit_id(event["id"], tid, unit)] = (tid, unit)
    return chosen


def _pick_units(event, ticket_type, quantity, taken_over, tried, now, flight):
    """General-admission units for one attempt, the cheapest source first.

    Expired claims this request found; this process's lane and units a probe
    saw free; other lanes' units, checked by batched reads of PROBE_SIZE (each
    teaches the hint what it saw), or when the hint knows of none, units other
    requests here are trying; and when that is still too few, Firestore. Once
    a request has collided, the hint has proved stale, so it probes its own
    lane's units too.
    """
    tid = ticket_type["id"]
    all_units = sellable_units(event, ticket_type)
    picks = [u for (t, u) in taken_over.values() if t == tid][:quantity]

    def hinted(count, scope):
        return HINT.candidates(tid, all_units, count, now, flight, exclude=set(picks) | tried, scope=scope)

    if not tried:
        picks += hinted(quantity - len(picks), "own")
    for _ in range(MAX_PROBES):
        if len(picks) >= quantity:
            break
        to_probe = hinted(PROBE_SIZE, "own") if tried else []
        to_probe += hinted(PROBE_SIZE - len(to_probe), "others")
        if not to_probe:
            picks += hinted(quantity - len(picks), "all")
            break
        picks += _probe(event["id"], tid, to_probe, now, taken_over)[:quantity - len(picks)]
    if len(picks) < quantity:
        picks = _fresh_candidates(ticket_type, all_units, quantity, now, flight)
    return picks


def _probe(event_id, tid, candidates, now, taken_over):
    """Those of ``candidates`` no live claim holds, from one batched read; the hint learns the others.

    Units outside this process's lane are probed before they are tried, and
    after a collision this lane's too: other workers are selling them, so a
    guess would mostly collide.
    """
    by_id = {units.unit_id(event_id, tid, unit): unit for unit in candidates}
    free = []
    for snapshot in db().get_all([units.unit_ref(doc_id) for doc_id in by_id], field_paths=["live_until"]):
        unit = by_id[snapshot.id]
        if not snapshot.exists:
            free.append(unit)
        elif snapshot.get("live_until") <= now:
            taken_over[snapshot.id] = (tid, unit)
            free.append(unit)
        else:
            HINT.mark(tid, unit, snapshot.get("live_until"))
    HINT.seen_free(tid, free)
    return free


def _fresh_candidates(ticket_type, all_units, quantity, now, flight):
    """Candidates from an authoritative read; sold out only when that read says so.

    A count comes first: near sell-out most buyers are answered by one
    aggregation instead of reading every live claim. Seated ticket types
    leave out the seats they retired, which are no longer theirs to sell.
    """
    seated = ticket_type["kind"] == "seated"
    remaining = len(all_units) - units.count_live_units(ticket_type["id"], now, exclude_retired=seated)
    if remaining < quantity:
        raise _sold_out(ticket_type, remaining)
    live = units.live_units(ticket_type["id"], now)
    HINT.replace(ticket_type["id"], {u: until for u, (_, until) in live.items()})
    free = [u for u in all_units if u not in live]
    if len(free) < quantity:
        raise _sold_out(ticket_type, len(free))
    picks = HINT.candidates(ticket_type["id"], all_units, quantity, now, flight)
    # Units this process claimed after the read can leave the hint short; the read's free units make up the rest.
    return picks + random.sample([u for u in free if u not in picks], quantity - len(picks))


def _sold_out(ticket_type, available):
    available = max(0, available)
    return AppError("sold_out", f"Only {available} of {ticket_type['name']} left.",
                    details={"ticket_type_id": ticket_type["id"], "available": available})


def _write(hold, slot, slot_takeover, chosen, taken_over, expires_at, now):
    def claim(tid, unit):
        return units.claim(hold["event_id"], tid, unit, hold_id=hold["id"], buyer_uid=hold["buyer_uid"],
                           live_until=expires_at, now=now)

    slot_doc = {"event_id": hold["event_id"], "buyer_uid": hold["buyer_uid"], "hold_id": hold["id"],
                "live_until": expires_at}
    takeovers = [doc_id for doc_id in chosen if doc_id in taken_over]
    if not takeovers and not slot_takeover:
        batch = db().batch()
        batch.create(hold_ref(hold["id"]), hold)
        batch.create(slot, slot_doc)
        for doc_id, (tid, unit) in chosen.items():
            batch.create(units.unit_ref(doc_id), claim(tid, unit))
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
        for doc_id, (tid, unit) in chosen.items():
            ref = units.unit_ref(doc_id)
            transaction.set(ref, claim(tid, unit)) if doc_id in taken_over else transaction.create(ref, claim(tid, unit))

    commit(db().transaction())


def place_hold(event_id, buyer_uid, *, items=None, seats=None, idempotency_key=None):
    fingerprint = request_fingerprint(event_id, items, seats)
    if idempotency_key:
        hold_id = _idempotent_hold_id(buyer_uid, idempotency_key)
        if (replayed := _replay(hold_id, buyer_uid, fingerprint)) is not None:
            return replayed
    else:
        hold_id = db().collection(HOLDS).document().id

    now = utcnow()
    event = events.get_event(event_id)
    ticket_types = {t["id"]: t for t in events.live_ticket_types(event_id)}
    plan = _plan(event, ticket_types, items, seats, now)
    expires_at = now + timedelta(seconds=current_app.config["HOLD_TTL_SECONDS"])

    taken_over, tried, slot = {}, {}, None
    for attempt in range(MAX_ATTEMPTS):
        if slot is None:
            slot, slot_takeover = _free_slot(event_id, buyer_uid, now)
        with HINT.trying() as flight:
            chosen = _choose(event, plan, taken_over, tried, now, flight)
            hold = hold_document(hold_id, event_id, buyer_uid, plan, chosen, slot_id=slot.id,
                                 fingerprint=fingerprint, now=now, expires_at=expires_at)
            try:
                _write(hold, slot, slot_takeover, chosen, taken_over, expires_at, now)
            except (gexc.AlreadyExists, _Collision) as exc:
                collection, doc_id = ((None, exc.doc_id) if isinstance(exc, _Collision)
                                      else units.collided_document(exc))
                if collection == HOLDS or collection is None and doc_id is None:
                    if (replayed := _replay(hold_id, buyer_uid, fingerprint)) is not None:
                        return replayed
                if doc_id in chosen:
                    _learn(doc_id, chosen, taken_over, tried, plan, now)
                elif collection in (HOLD_SLOTS, None):
                    slot = None  # another request of this buyer took that slot, or Firestore did not say
            else:
                for tid, unit in chosen.values():
                    HINT.mark(tid, unit, expires_at)
                logger.info("hold placed hold=%s event=%s units=%d", hold_id, event_id, len(chosen))
                hold_changed.send(hold)
                return view(hold, now)
        # Buyers who collided chose from the same read: spread their next tries apart.
        time.sleep(random.uniform(0, min(0.05, 0.005 * (attempt + 1))))
        now = utcnow()
    raise AppError("busy", "Too many buyers at once for these units; try again.")


def hold_document(hold_id, event_id, buyer_uid, plan, chosen, *, slot_id, fingerprint, now, expires_at):
    """A new hold of ``chosen`` ({claim id: (ticket type id, unit)}) for ``plan`` [(ticket type, quantity,
    seats or None)]."""
    return {
        "id": hold_id, "event_id": event_id, "buyer_uid": buyer_uid, "state": str(HoldState.ACTIVE),
        "currency": plan[0][0]["currency"], "total": sum(t["price"] * quantity for t, quantity, _ in plan),
        "expires_at": expires_at, "created_at": now, "updated_at": now, "fingerprint": fingerprint,
        "slot_id": slot_id, "unit_ids": list(chosen),
        "items": [_item(t, q, s, {d: u for d, (tid, u) in chosen.items() if tid == t["id"]}) for t, q, s in plan],
    }


def _item(ticket_type, quantity, seats, claimed):
    return {"ticket_type_id": ticket_type["id"], "name": ticket_type["name"], "quantity": quantity,
            "seats": seats, "unit_price": ticket_type["price"], "subtotal": ticket_type["price"] * quantity,
            "unit_ids": list(claimed), "units": list(claimed.values())}


def _learn(doc_id, chosen, taken_over, tried, plan, now):
    """A chosen unit was taken: take it over if its claim expired, else choose another (or 409 a seat)."""
    tid, unit = chosen[doc_id]
    snapshot = units.unit_ref(doc_id).get(field_paths=["live_until"])
    if snapshot.exists and snapshot.get("live_until") <= now:
        taken_over[doc_id] = (tid, unit)
        return None
    taken_over.pop(doc_id, None)
    HINT.mark(tid, unit, snapshot.get("live_until") if snapshot.exists else now)
    tried.setdefault(tid, set()).add(unit)
    seated = next(s for t, _, s in plan if t["id"] == tid)
    if seated is not None:
        raise AppError("seat_taken", f"Seat {unit} is taken.", details={"seat": unit})
