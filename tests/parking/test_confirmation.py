"""The order confirmation lists a parking pass with its code, beside the tickets, as the ticket kind's are."""
from datetime import timedelta

import pytest

from app.notifications.delivery import deliver_outbox
from tests.mailbox import smtp_config
from tests.parking.conftest import evening


@pytest.fixture
def app(make_app, smtp_server):
    return make_app(**smtp_config(smtp_server))


def test_the_confirmation_lists_the_pass_with_its_code(app, make_garage, make_user, smtp_server):
    garage = make_garage()
    buyer = make_user()
    quote = garage.fresh_quote(start=evening(), end=evening() + timedelta(hours=2))
    hold = garage.hold(buyer, quote, tickets=1).json
    order = garage.shop.order(buyer, hold["id"]).json
    paid = garage.shop.mark_paid(garage.owner, order["id"]).json
    booked = garage.pass_of(paid, buyer)
    with app.app_context():
        deliver_outbox()
    [mail] = smtp_server.to(buyer.email)
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert f"Parking at North car park: standard space {booked['space']}" in text
    assert booked["code"] in text and "General admission" in text
