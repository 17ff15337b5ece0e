"""Reports: the organizer dashboard and event stats from sales counters, CSV exports, a customer's own data.

It listens to the orders domain: each paid order and each refund is counted
once in the sales counters (``counters``), after the order's commit.
"""
from app.orders.signals import order_paid, order_refunded
from app.reports import counters


def _order_paid(order, **_):
    counters.record_sale(order)


def _order_refunded(order, *, refund, **_):
    counters.record_refund(order, refund)


order_paid.connect(_order_paid)
order_refunded.connect(_order_refunded)
