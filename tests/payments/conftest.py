import pytest

from tests.payments.stripe_stub import SECRET_KEY, WEBHOOK_SECRET, StripeStub


@pytest.fixture
def stripe_stub():
    with StripeStub() as stub:
        yield stub


@pytest.fixture
def app(make_app, stripe_stub):
    """The app with Stripe configured against the local stand-in."""
    return make_app(STRIPE_SECRET_KEY=SECRET_KEY, STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
                    STRIPE_API_BASE=stripe_stub.url)
