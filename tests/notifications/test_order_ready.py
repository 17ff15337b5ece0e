"""The buyer hears by push, e-mail and text when a stand has their order ready, once, and not after it is gone."""
from app.notifications.compose import qr_png
from app.notifications.delivery import deliver_outbox


def deliver(app):
    with app.app_context():
        return deliver_outbox()


def test_the_buyer_is_told_by_push_when_the_order_is_ready(app, client, make_bar, make_user, fcm, smtp_server):
    bar = make_bar()
    buyer = make_user()
    assert client.post("/api/v1/users/me/devices", json={"token": "phone-token", "platform": "ios"},
                       headers=buyer.headers).status_code == 201
    order = bar.paid(buyer, bar.burger(2), bar.line("fries", variant_id="small"))
    [stand_order] = bar.stand_orders(buyer, order["id"])
    assert deliver(app) == {"sent": 1}
    [confirmation] = smtp_server.to(buyer.email)
    text = confirmation.get_body(preferencelist=("plain",)).get_content()
    assert f"code {stand_order['pickup_code']}" in text and text.count("Burger (Ketchup) at Kitchen") == 2
    # One QR for the stand order, with its first item.
    images = [part.get_content() for part in confirmation.walk() if part.get_content_type() == "image/png"]
    assert images == [qr_png(stand_order["qr_code"])]
    fcm.received.clear()

    bar.move(bar.staff, stand_order["id"], "preparing")
    assert deliver(app) == {}
    bar.move(bar.staff, stand_order["id"], "ready")
    assert deliver(app) == {"sent": 1}
    [push] = fcm.received
    message = push["body"]["message"]
    assert message["fid"] == "phone-token"
    assert message["notification"] == {"title": "Your order is ready", "body": (
        f"It is ready to collect at Kitchen. Your code: {stand_order['pickup_code']}.")}
    assert message["data"]["stand_order_id"] == stand_order["id"] and message["data"]["kind"] == "order_ready"
    assert smtp_server.to(buyer.email)[-1]["Subject"] == "Your order from Kitchen is ready"
    assert deliver(app) == {}


def test_an_order_collected_before_its_notice_goes_out_sends_none(app, make_bar, make_user, fcm, smtp_server):
    bar = make_bar()
    buyer = make_user()
    stand_order = bar.order_up(buyer, bar.burger())
    deliver(app)
    for state in ("preparing", "ready"):
        bar.move(bar.staff, stand_order["id"], state)
    bar.redeem(bar.staff, code=stand_order["pickup_code"])
    assert deliver(app) == {"skipped": 1}


def test_a_buyer_with_a_verified_phone_is_texted_the_code_when_the_order_is_ready(app, make_bar, make_user,
                                                                                   verify_phone, twilio):
    bar = make_bar()
    buyer = make_user()
    verify_phone(buyer, "+4915112345678")
    stand_order = bar.order_up(buyer, bar.burger())
    deliver(app)
    twilio.reset()
    for state in ("preparing", "ready"):
        bar.move(bar.staff, stand_order["id"], state)
    assert deliver(app) == {"sent": 1}
    [text] = twilio.messages()
    assert text["to"] == "+4915112345678"
    assert text["body"].startswith(f"Your order is ready to collect at Kitchen. Code {stand_order['pickup_code']}.")
