"""Payouts: payment splits between the platform, venues and organizers, the ledger, and Stripe Connect transfers.

It listens to the orders domain: a paid order is split and booked (and its
parties' transfers queued), a refund is booked and reverses transfers in
proportion, and the Stripe webhook hands on connected-account and dispute
events. Nobody calls it.
"""
from app.orders.signals import order_paid, order_refunded, payment_event
from app.payouts import booking, stripe_events


def _order_paid(order, **_):
    booking.book_payment(order)


def _order_refunded(order, *, refund, **_):
    booking.book_refund(order, refund)


def _payment_event(provider, *, event, once, **_):
    return stripe_events.handle_stripe_event(event, once) if provider == "stripe" else None


order_paid.connect(_order_paid)
order_refunded.connect(_order_refunded)
payment_event.connect(_payment_event)
