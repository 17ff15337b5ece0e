"""Payment providers behind one small interface, and which of them this deployment offers.

A provider checks that it can charge an amount (inside the order's
transaction, so an order it could never charge is not made), starts a payment
for an order (after the order's transaction commits), cancels one that will
not be paid, and refunds. Money arrives through the provider's own path:
``manual`` when an organizer marks an order paid at the box office, ``stripe``
through its signed webhooks. A provider that is not configured is not
offered: an order asking for it is refused.
"""
from typing import Protocol

from flask import current_app

from app.errors import AppError

EXTENSION = "payment_providers"


class ProviderUnavailable(Exception):
    """The provider did not answer, or answered that it could not now: the call may be tried again."""


class PaymentProvider(Protocol):
    name: str

    def check_amount(self, amount, currency) -> None:
        """Raise AppError ``amount_not_chargeable`` when this provider cannot charge it."""

    def start(self, order) -> dict:
        """Payment details to store on the order (``reference``, and what the buyer's client needs)."""

    def cancel(self, order) -> None:
        """Stop a started payment from succeeding later, where the provider can."""

    def refund(self, refund) -> dict:
        """Pay ``refund["amount"]`` back for the payment ``refund["payment_reference"]``:
        ``{"status": "succeeded" | "submitted" | "failed", "reference", "message"?}``. ``refund["id"]`` is the
        idempotency key, so a retry never pays twice. Raises ProviderUnavailable when it may be tried again."""

    def refund_status(self, reference) -> str:
        """What became of a submitted refund: ``succeeded``, ``submitted`` or ``failed``."""


def _build(config):
    from app.payments.manual import ManualProvider
    from app.payments.stripe import StripeProvider

    providers = {"manual": ManualProvider()}
    if config["STRIPE_SECRET_KEY"] and config["STRIPE_WEBHOOK_SECRET"]:
        providers["stripe"] = StripeProvider(config["STRIPE_SECRET_KEY"], config["STRIPE_WEBHOOK_SECRET"],
                                             api_base=config["STRIPE_API_BASE"],
                                             connect_webhook_secret=config["STRIPE_CONNECT_WEBHOOK_SECRET"])
    return providers


def offered():
    """{name: provider} of the providers this deployment is configured for."""
    if EXTENSION not in current_app.extensions:
        current_app.extensions[EXTENSION] = _build(current_app.config)
    return current_app.extensions[EXTENSION]


def get_provider(name):
    provider = offered().get(name)
    if provider is None:
        raise AppError("validation_error", details={"fields": {"payment_method": [f"Not offered here; choose one of: "
                                                              f"{', '.join(sorted(offered()))}."]}})
    return provider
