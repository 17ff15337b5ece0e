"""What the concessions domain announces after its commits; sender: the stand order as committed."""
from app.signals import after_commit

# Received (its order was paid), moved along, handed over, refunded or cancelled.
stand_order_changed = after_commit("stand-order-changed")
# Its staff marked it ready: the buyer can collect it (or it is on its way to their seat).
stand_order_ready = after_commit("stand-order-ready")
