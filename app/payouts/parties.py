"""Parties: who money is split between, and who may see a party's accounts, ledger and reports.

A party is a venue (``venue:<venue id>``, run by the venue's owner) or an
organizer (``organizer:<uid>``, the organizer themself); the platform, which
takes the fee, is ``platform``. A split rule names a party by its role in the
order (``venue``, ``organizer``: the event's venue and organizer) or by id.
"""
import re

from app.auth import Role
from app.errors import AppError
from app.venues import service as venues

PLATFORM = "platform"
ROLES = ("venue", "organizer")
PARTY_ID = re.compile(r"(venue|organizer):([A-Za-z0-9_-]{1,64})")


def party_of(role, value):
    return f"{role}:{value}"


def parse(party_id):
    """(role, id) of a party id; None for anything else."""
    match = PARTY_ID.fullmatch(party_id or "")
    return (match.group(1), match.group(2)) if match else None


def order_parties(event):
    """{role: party id} of an order of ``event``."""
    return {"venue": party_of("venue", event["venue_id"]), "organizer": party_of("organizer", event["organizer_uid"])}


def resolve(name, parties):
    """The party a rule's share or tip goes to: a role of the order, or a party named by id."""
    return parties.get(name, name)


def runs(user, party_id):
    """Whether ``user`` is the party: the organizer themself, or the venue's owner."""
    parsed = parse(party_id)
    if user is None or parsed is None or user.role not in (Role.ORGANIZER, Role.ADMIN):
        return False
    role, value = parsed
    if role == "organizer":
        return value == user.uid
    try:
        return venues.get_venue(value)["owner_uid"] == user.uid
    except AppError:
        return False


def require_party(user, party_id):
    """The party's id when ``user`` is that party or an admin; 404 otherwise (whose money is whose stays private)."""
    if party_id == PLATFORM and user.role == Role.ADMIN:
        return party_id
    if parse(party_id) is None or not (user.role == Role.ADMIN or runs(user, party_id)):
        raise AppError("not_found", "No such party.")
    return party_id


def sees_any(user, party_ids):
    return user.role == Role.ADMIN or any(runs(user, p) for p in party_ids)
