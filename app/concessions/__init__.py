"""Concessions and merchandise: stands at a venue, their menus, and orders of ``concession`` lines.

Buyers order through the one checkout (``kind``); a paid order becomes one
stand order per stand, which the stand's staff work through (``queue``). It
listens: a paid or refunded order announces its stand orders (for the live
feed and the buyer's notices), and an event that completes or is cancelled
closes the stands open for it.
"""
from app.concessions import records, stands
from app.concessions.signals import stand_order_changed
from app.events.signals import event_cancelled, event_completed
from app.orders.signals import order_paid, order_refunded


def _order_changed(order, **_):
    for stand_order in records.stand_orders_of(order):
        stand_order_changed.send(stand_order)


def _event_over(event, **_):
    stands.close_event_stands(event["id"])


order_paid.connect(_order_changed)
order_refunded.connect(_order_changed)
event_completed.connect(_event_over)
event_cancelled.connect(_event_over)
