"""Figures of a lot for its venue: occupancy over time, revenue by kind, average stay, multipliers applied.

They are computed from the lot's passes and sessions that start in the asked
period (at most ``MAX_DAYS``), read once: a lot's busiest days are a few
thousand records, and the figures must agree with what was sold and refunded.
Revenue is what was paid (tax and fees included), less what was refunded.
"""
from datetime import timedelta

from google.cloud.firestore_v1 import FieldFilter, Query

from app.errors import field_error
from app.firebase import db
from app.parking import lots, passes, sessions
from app.parking.passes import PassState
from app.parking.sessions import SessionState
from app.timeutil import utcnow

MAX_DAYS = 31
STEP = timedelta(hours=1)


def _passes(lot_id, starts, ends):
    query = (db().collection(passes.PASSES).where(filter=FieldFilter("lot_id", "==", lot_id))
             .where(filter=FieldFilter("starts_at", ">=", starts)).where(filter=FieldFilter("starts_at", "<", ends))
             .order_by("starts_at", direction=Query.DESCENDING))
    return [doc.to_dict() for doc in query.stream()]


def _sessions(lot_id, starts, ends):
    query = (db().collection(sessions.SESSIONS).where(filter=FieldFilter("lot_id", "==", lot_id))
             .where(filter=FieldFilter("started_at", ">=", starts)).where(filter=FieldFilter("started_at", "<", ends))
             .order_by("started_at", direction=Query.DESCENDING))
    return [doc.to_dict() for doc in query.stream()]


def _stays(booked, parked, now):
    """(start, end) of every stay that occupied a space: valid passes' windows, drive-ups until they left."""
    stays = [(p["starts_at"], p["ends_at"]) for p in booked if p["state"] == PassState.VALID]
    stays += [(s["started_at"], s["ended_at"] or min(now, s["planned_end"])) for s in parked
              if s["reason"] == sessions.Reason.DRIVE_UP]
    return stays


def _occupancy(stays, starts, ends):
    """Spaces occupied at the start of each whole hour of the period."""
    series, at = [], starts.replace(minute=0, second=0, microsecond=0)
    while at < ends:
        series.append({"at": at, "occupied": sum(1 for s, e in stays if s <= at < e)})
        at += STEP
    return series


def _revenue(booked, parked, kinds):
    rows = {kind: {"kind": kind, "bookings": 0, "sessions": 0, "gross": 0, "refunds": 0} for kind in kinds}
    sources = {source: {"source": source, "count": 0, "gross": 0, "refunds": 0}
               for source in ("reservation", *map(str, sessions.Reason))}

    def add(kind, source, counter, gross, refunded):
        row = rows.setdefault(kind, {"kind": kind, "bookings": 0, "sessions": 0, "gross": 0, "refunds": 0})
        row[counter] += 1
        for target in (row, sources[source]):
            target["gross"] += gross
            target["refunds"] += gross if refunded else 0
        sources[source]["count"] += 1

    for p in booked:
        add(p["kind"], "reservation", "bookings", p["price"], p["state"] == PassState.VOIDED)
    for s in parked:
        if s["state"] in (SessionState.PAID, SessionState.REFUNDED):
            add(s["kind"], s["reason"], "sessions", s["amount_paid"] or 0, s["state"] == SessionState.REFUNDED)
    for row in [*rows.values(), *sources.values()]:
        row["revenue"] = row["gross"] - row["refunds"]
    return list(rows.values()), list(sources.values())


def _minutes(start, end):
    return (end - start) / timedelta(minutes=1)


def get_lot_stats(lot_id, user, *, starts_from=None, starts_to=None):
    lot = lots.managed_lot(lot_id, user)
    now = utcnow()
    ends = starts_to or now.replace(minute=0, second=0, microsecond=0) + STEP
    starts = starts_from or ends - timedelta(days=7)
    if ends <= starts:
        raise field_error("to", "The period must end after it starts.")
    if ends - starts > timedelta(days=MAX_DAYS):
        raise field_error("to", f"A period is at most {MAX_DAYS} days.")
    booked, parked = _passes(lot_id, starts, ends), _sessions(lot_id, starts, ends)
    kinds = lots.kinds_of(lot)
    by_kind, by_source = _revenue(booked, parked, kinds)
    visits = [_minutes(p["entered_at"], p["exited_at"]) for p in booked if p["entered_at"] and p["exited_at"]]
    visits += [s["minutes"] for s in parked if s["reason"] == sessions.Reason.DRIVE_UP and s["ended_at"]]
    multipliers = [p["multiplier_bp"] for p in booked] + [s["multiplier_bp"] for s in parked
                                                            if s["reason"] == sessions.Reason.DRIVE_UP]
    return {
        "lot_id": lot_id, "currency": lot["pricing"]["currency"], "from": starts, "to": ends, "as_of": now,
        "spaces": sum(kinds.values()), "bookings": len(booked), "sessions": len(parked),
        "occupancy": _occupancy(_stays(booked, parked, now), starts, ends),
        "revenue": sum(row["revenue"] for row in by_kind), "revenue_by_kind": by_kind,
        "revenue_by_source": by_source,
        "average_stay_minutes": round(sum(visits) / len(visits), 1) if visits else None, "stays_measured": len(visits),
        "multiplier": {"average_bp": round(sum(multipliers) / len(multipliers)) if multipliers else None,
                       "min_bp": min(multipliers, default=None), "max_bp": max(multipliers, default=None),
                       "above_base": sum(1 for m in multipliers if m > 10_000)},
    }
