"""What the parking domain announces after its commits."""
from app.signals import after_commit

# sender: the lot id. What is parked or booked in the lot changed (a hold, an order, a pass, a session), or the
# lot itself: its occupancy is worth publishing again.
lot_changed = after_commit("parking-lot-changed")
