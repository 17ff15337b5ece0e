"""Stripe Connect calls: connected accounts, onboarding links, transfers and their reversals.

They go through the Stripe client of the ``stripe`` payment provider (same
key, same API base), so Connect is available exactly where Stripe is
configured. Money moves as separate charges and transfers: the buyer pays the
platform, and each party's part is transferred to its connected account in
the order's transfer group, tied to the order's charge (``source_transaction``)
so Stripe releases it once the charge's funds are available. Every call that
creates something carries an idempotency key made from our own record's id,
so a retry after a crash never creates a second account, transfer or reversal.
"""
import logging

import stripe

from app.errors import AppError
from app.money import to_stripe
from app.payments import providers
from app.payments.stripe import TRANSIENT

logger = logging.getLogger(__name__)


class Refused(Exception):
    """Stripe answered and said no (an account that cannot receive, a reversal of more than is left)."""


def transfer_group(order_id):
    """The group the order's PaymentIntent was created in (``app.payments.stripe``) and its transfers join."""
    return f"order-{order_id}"


def client():
    """The Stripe client, or None where Stripe is not configured."""
    provider = providers.offered().get("stripe")
    return provider.client if provider is not None else None


def _require_client():
    stripe_client = client()
    if stripe_client is None:
        raise AppError("connect_not_configured")
    return stripe_client


def _call(what, call):
    try:
        return call()
    except TRANSIENT as exc:
        raise providers.ProviderUnavailable(f"{type(exc).__name__}: {exc}") from exc
    except stripe.StripeError as exc:
        logger.warning("stripe refused %s: %s", what, exc)
        raise Refused(str(exc)[:500]) from exc


def _answered(what, call):
    """For calls made on a user's request, as a dict: Stripe's trouble is a 502 the user can retry."""
    try:
        return _call(what, call).to_dict()
    except (providers.ProviderUnavailable, Refused) as exc:
        raise AppError("payment_provider_error", details={"provider": "stripe", "reason": str(exc)[:200]}) from exc


def create_account(party_id, *, account_type, country=None, email=None):
    params = {"type": account_type, "metadata": {"party_id": party_id},
              "capabilities": {"transfers": {"requested": True}},
              **({"country": country} if country else {}), **({"email": email} if email else {})}
    return _answered("account", lambda: _require_client().v1.accounts.create(
        params=params, options={"idempotency_key": f"account-{party_id}"}))


def account_link(account_id, *, refresh_url, return_url):
    return _answered("account link", lambda: _require_client().v1.account_links.create(params={
        "account": account_id, "type": "account_onboarding", "refresh_url": refresh_url,
        "return_url": return_url}))


def retrieve_account(account_id):
    return _answered("account", lambda: _require_client().v1.accounts.retrieve(account_id))


def _stripe_client():
    stripe_client = client()
    if stripe_client is None:
        raise providers.ProviderUnavailable("stripe is not configured here")
    return stripe_client


def charge_of(payment_reference):
    """The charge of a PaymentIntent, which transfers are tied to; None when Stripe names none."""
    intent = _call("payment intent", lambda: _stripe_client().v1.payment_intents.retrieve(payment_reference))
    return intent.to_dict().get("latest_charge")


def _key(record):
    return f"payout-{record['id']}-{record['generation']}"


def send_transfer(record, *, destination, source_transaction):
    params = {"amount": to_stripe(record["amount"], record["currency"]), "currency": record["currency"].lower(),
              "destination": destination, "transfer_group": transfer_group(record["order_id"]),
              "metadata": {"order_id": record["order_id"], "party_id": record["party"], "payout_id": record["id"]},
              **({"source_transaction": source_transaction} if source_transaction else {})}
    created = _call(f"transfer {record['id']}", lambda: _stripe_client().v1.transfers.create(
        params=params, options={"idempotency_key": _key(record)}))
    return created.id


def send_reversal(record, *, transfer_reference):
    params = {"amount": to_stripe(record["amount"], record["currency"]),
              "metadata": {"order_id": record["order_id"], "party_id": record["party"], "payout_id": record["id"]}}
    created = _call(f"reversal {record['id']}", lambda: _stripe_client().v1.transfers.reversals.create(
        transfer_reference, params=params, options={"idempotency_key": _key(record)}))
    return created.id
