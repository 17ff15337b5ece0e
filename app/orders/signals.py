"""What the orders domain announces after its commits; sender: the order as committed."""
from app.signals import after_commit

order_paid = after_commit("order-paid")
# refund=: the refund just recorded.
order_refunded = after_commit("order-refunded")
# Cancelled or expired unpaid: what it held is on sale again.
order_released = after_commit("order-released")
