"""The box office: the buyer pays in person and an organizer or admin marks the order paid."""


class ManualProvider:
    name = "manual"

    def check_amount(self, amount, currency):
        return None

    def start(self, order):
        return {"status": "awaiting_box_office"}

    def cancel(self, order):
        return None

    def refund(self, refund):
        # Cash goes back over the counter; recording the refund is all there is to do.
        return {"status": "succeeded", "reference": None}

    def refund_status(self, reference):
        return "succeeded"
