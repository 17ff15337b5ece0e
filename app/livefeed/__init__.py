"""Live feed: availability and holds pushed to mobile apps through the Realtime Database.

Other domains call ``hold_changed(hold)`` after a hold is placed, released,
expired or converted, and ``event_changed(event_id)`` after anything else
that changes an event's availability (a sale, a refund, a capacity change),
always after their Firestore commit. Both return at once and never raise.
"""
from app.livefeed.publisher import event_changed, hold_changed

__all__ = ["event_changed", "hold_changed"]
