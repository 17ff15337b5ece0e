"""What the orders domain announces after its commits; sender: the order as committed."""
from app.signals import after_commit, question

order_paid = after_commit("order-paid")
# refund=: the refund just recorded.
order_refunded = after_commit("order-refunded")
# Cancelled or expired unpaid: what it held is on sale again.
order_released = after_commit("order-released")
# Asked, not announced: a provider's webhook event the orders domain does not handle itself (a connected
# account changed, a dispute). Sender: the provider's name; event= (the verified event as a dict), once=
# (marker ref, marker fields). A receiver that handles the event applies it together with the marker in one
# transaction and answers its outcome; the others answer None.
payment_event = question("payment-event")
