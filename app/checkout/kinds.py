"""Line kinds: what the checkout sells, one small interface per kind, registered at start-up.

A hold (the cart) and an order (its checkout) carry lines, each of a kind —
``ticket`` first, then whatever a package registers (parking, concessions).
The checkout, orders, payments, discounts, refunds, audit and notifications
work on lines without naming a kind; what differs between kinds sits behind
``LineKind``, the way payment providers sit behind ``PaymentProvider``:

- ``plan`` reads the catalogue and checks a buyer's requested lines (no writes);
- ``pick`` names the inventory units one attempt of the hold claims (none for
  things without stock), and ``collided`` hears that one was taken;
- ``sell`` (payment), ``release`` (an unpaid order ends) and ``void`` (a refund)
  write the kind's own documents inside the caller's transaction: a
  ``StagedTransaction``, so a kind may read after another kind wrote;
- ``describe`` says what the buyer got, for the order and its e-mail.

A kind may also say ``settles_after_event = True``: its lines are paid for
what was used at an event (a drive-up's parking time), so they are held and
ordered for an event that has completed too; everything else is sold only
while its event is published.

A line's claims are dealt to its units evenly, in order: one claim per unit
for a ticket, and for a parking space one per time slot of its window, all
held by its one unit, so whatever happens to the unit (sold, released,
refunded) happens to all of them.

Claims on inventory units are the checkout's business: a kind only chooses
them, and the checkout creates, hands on, sells and releases them.
"""
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from flask import current_app

from app.errors import AppError
from app.events.service import EventStatus

EXTENSION = "line_kinds"


@dataclass
class Line:
    """One planned line of a hold: what it is, what it costs, and the kind's working data for picking.

    Prices are integer minor units of ``currency``; ``unit_price`` includes
    the chosen options. ``catalog_id`` is what a discount code may be limited
    to (a ticket type id). ``details`` are the kind's own fields, stored with
    the line and shown to the buyer.
    """

    kind: str
    name: str
    quantity: int
    unit_price: int
    currency: str
    catalog_id: str | None = None
    tax_category: str | None = None
    fee_per_unit: int = 0
    takes_tips: bool = False
    details: dict = field(default_factory=dict)
    work: object = None

    def stored(self, index, claims):
        """The line as the hold stores it; ``claims`` are ``[{unit_id, pool, unit}]`` it holds."""
        return {"id": f"l{index}", "kind": self.kind, "name": self.name, "quantity": self.quantity,
                "unit_price": self.unit_price, "subtotal": self.unit_price * self.quantity,
                "catalog_id": self.catalog_id, "tax_category": self.tax_category or self.kind,
                "fee_per_unit": self.fee_per_unit, "takes_tips": self.takes_tips, "details": self.details,
                "claims": claims}


@runtime_checkable
class LineKind(Protocol):
    name: str
    # The marshmallow schema of one requested line of this kind (its fields besides "kind").
    line_schema: type

    def plan(self, event, requests, now, *, buyer_uid) -> list:
        """Check the requested lines (as ``line_schema`` loaded them) against the catalogue: ``[Line]``.
        Raise AppError for anything a buyer can fix (unknown item, not on sale, over a limit). ``buyer_uid``
        is whose hold it is, for what depends on the buyer (a delivery to a seat of theirs)."""

    def pick(self, line, attempts, now, flight) -> dict:
        """{claim id: (pool id, unit)} to claim in this attempt; {} for a line without stock."""

    def collided(self, line, claim_id, unit, attempts, now) -> None:
        """The claim of ``unit`` was taken; learn from it, or raise (a named unit is gone)."""

    def sell(self, tx, order, line, units, now) -> list:
        """The order is paid: write what the buyer gets. For each unit, what it issued as the buyer sees it
        (``{"id": ticket id, ...}``), or None."""

    def release(self, tx, order, line, units, now) -> None:
        """An unpaid order ended; undo whatever the kind wrote for it (claims are released for it)."""

    def void(self, tx, order, line, units, now, *, force) -> None:
        """These sold units are refunded; void what ``sell`` wrote. Raise to refuse (a used ticket) unless
        ``force``."""

    def describe(self, order, line, units) -> list:
        """For each unit ``{"label": ..., "code": ... or None}``: what the buyer shows or redeems."""


def open_for_sale(event, kind_names):
    """Whether a hold of lines of these kinds may be placed or ordered for ``event`` now."""
    if event is None:
        return False
    if event["status"] == EventStatus.PUBLISHED:
        return True
    return event["status"] == EventStatus.COMPLETED and all(
        getattr(registered().get(name), "settles_after_event", False) for name in kind_names)


def register(app, kind):
    """Offer ``kind`` in this app's checkout; a second kind of the same name replaces the first."""
    if not isinstance(kind, LineKind):
        raise TypeError(f"{kind!r} does not implement LineKind")
    app.extensions.setdefault(EXTENSION, {})[kind.name] = kind


def unregister(app, name):
    app.extensions.get(EXTENSION, {}).pop(name, None)


def registered():
    return current_app.extensions.get(EXTENSION, {})


def get_kind(name):
    kind = registered().get(name)
    if kind is None:
        raise AppError("validation_error", details={"fields": {"items": [
            f"Unknown kind {name!r}; this deployment sells: {', '.join(sorted(registered()))}."]}})
    return kind
