"""What the checkout announces after its commits."""
from app.signals import after_commit

# sender: the hold as committed (placed, released, expired or converted into an order).
hold_changed = after_commit("hold-changed")
