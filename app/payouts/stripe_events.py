"""Stripe's Connect and dispute events, handed on by the orders domain's webhook (``payment_event``)."""
from app.payouts import accounts, booking, transfers

DISPUTE_EVENTS = {"charge.dispute.created": False, "charge.dispute.closed": True}


def handle_stripe_event(event, once):
    """Apply an ``account.updated`` or a dispute event once; None for any other event."""
    obj = event["data"]["object"]
    if event["type"] == "account.updated" and obj.get("object") == "account":
        outcome, can_receive_now = accounts.apply_account_update(obj, once)
        if can_receive_now:
            transfers.release_held(can_receive_now)
        return outcome
    if event["type"] in DISPUTE_EVENTS and obj.get("object") == "dispute":
        return booking.apply_dispute(obj, once, closed=DISPUTE_EVENTS[event["type"]])
    return None
