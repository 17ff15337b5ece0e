"""Orders: checkouts of holds, their payments, refunds and discount codes.

It listens to the events domain: a cancelled event's holds, unpaid orders and
paid orders are settled (``cancellation``).
"""
from app.events.signals import event_cancelled
from app.orders import cancellation


def _event_cancelled(event, **_):
    cancellation.settle_cancelled_event(event["id"], budget=cancellation.INLINE_ORDERS)


event_cancelled.connect(_event_cancelled)
