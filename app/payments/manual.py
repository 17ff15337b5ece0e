"""The box office: the buyer pays in person and an organizer or admin marks the order paid."""


class ManualProvider:
    name = "manual"

    def start(self, order):
        return {"status": "awaiting_box_office"}

    def cancel(self, order):
        return None

    def refund(self, order, amount, refund_id):
        # Cash goes back over the counter; recording the refund is all there is to do.
        return {"status": "succeeded", "reference": None}
