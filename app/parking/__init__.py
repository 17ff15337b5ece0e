"""Parking: lots at venues, dynamic prices, reservations as ``parking`` lines, drive-up sessions, scans.

It listens to the checkout and orders: a hold or an order with parking lines
changes what its lots have free, and the lots say so (``lot_changed``), as
parking's own commits (sessions, scans, lot changes) do.
"""
from app.checkout.signals import hold_changed
from app.orders.signals import order_paid, order_refunded, order_released
from app.parking.signals import lot_changed

KIND = "parking"


def _lots_of(record):
    return sorted({line["details"]["lot_id"] for line in record.get("items") or [] if line.get("kind") == KIND})


def _changed(record, **_):
    for lot_id in _lots_of(record):
        lot_changed.send(lot_id)


for _signal in (hold_changed, order_paid, order_refunded, order_released):
    _signal.connect(_changed)
