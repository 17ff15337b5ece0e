"""Live feed: availability and holds pushed to mobile apps through the Realtime Database.

It listens: a placed, released, expired or converted hold publishes the hold
and its event's availability; anything else that changes what an event has on
sale (a sale, a refund, an order released, a ticket type changed, the event
published, cancelled or completed) publishes the availability; a stand order
that changed publishes itself to its buyer and its stand's queue count; a
parking lot whose occupancy changed publishes it. The signals come after the
sender's Firestore commit; queuing the write returns at once and never raises
(``publisher``).
"""
from app.events.signals import event_cancelled, event_completed, event_published, ticket_types_changed
from app.checkout.signals import hold_changed
from app.concessions.signals import stand_order_changed
from app.livefeed import publisher, service
from app.orders.signals import order_paid, order_refunded, order_released
from app.parking.signals import lot_changed


def _hold_changed(hold, **_):
    publisher.hold_changed(hold)


def _event_changed(event, **_):
    publisher.event_changed(event["id"])


def _order_changed(order, **_):
    publisher.event_changed(order["event_id"])


def _ticket_types_changed(event_id, **_):
    publisher.event_changed(event_id)


def _lot_changed(lot_id, **_):
    publisher.entry_changed("lot", lot_id)
def _stand_order_changed(stand_order, **_):
    publisher.entry_changed("stand_order", stand_order["id"])
    publisher.entry_changed("stand_queue", service.stand_queue_key(stand_order))


hold_changed.connect(_hold_changed)
for _signal in (event_published, event_cancelled, event_completed):
    _signal.connect(_event_changed)
for _signal in (order_paid, order_refunded, order_released):
    _signal.connect(_order_changed)
ticket_types_changed.connect(_ticket_types_changed)
stand_order_changed.connect(_stand_order_changed)
lot_changed.connect(_lot_changed)
