"""Notifications: the outbox of e-mails and pushes, queued when what they tell of has committed.

It listens for paid orders (the confirmation), refunds (the refund notice),
cancelled events (the cancellation notice to every holder) and stand orders
made ready (the buyer's pickup notice); reminders are the scheduler's
``send_reminders`` job.
"""
from app.concessions.signals import stand_order_ready
from app.events.signals import event_cancelled
from app.notifications import reminders, service
from app.orders.signals import order_paid, order_refunded


def _order_paid(order, **_):
    service.notify_order_paid(order["id"])


def _order_refunded(order, *, refund, **_):
    service.notify_refund(order["id"], refund["id"])


def _event_cancelled(event, **_):
    reminders.notify_event_cancelled(event["id"])


def _stand_order_ready(stand_order, **_):
    service.notify_order_ready(stand_order)


order_paid.connect(_order_paid)
order_refunded.connect(_order_refunded)
event_cancelled.connect(_event_cancelled)
stand_order_ready.connect(_stand_order_ready)
