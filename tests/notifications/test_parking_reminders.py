"""A push (and a text to a verified phone) to a parked driver before their booking ends: once per pass whatever
runs the job, never by e-mail, and not at all for a car that has left or a pass refunded since."""
from datetime import timedelta

from google.cloud.firestore_v1 import FieldFilter

from app.firebase import db
from app.notifications import reminders
from app.notifications.delivery import deliver_outbox
from app.notifications.service import OUTBOX
from tests.factories import race
from tests.parking.conftest import make_garage, slot_start  # noqa: F401  (the fixture, for this directory)


def queue(app):
    with app.app_context():
        return reminders.send_parking_reminders()


def parking_messages(app):
    with app.app_context():
        query = db().collection(OUTBOX).where(filter=FieldFilter("kind", "==", "parking_ending"))
        return [doc.to_dict() for doc in query.stream()]


def test_a_parked_driver_is_reminded_once_by_push_before_the_booking_ends(app, make_garage, make_user,  # noqa: F811
                                                                          fcm, smtp_server):
    garage = make_garage()
    driver, away = make_user(), make_user()
    garage.client.post("/api/v1/users/me/devices", json={"token": "phone-p1", "platform": "ios"},
                       headers=driver.headers)
    start = slot_start()
    booked = garage.pass_of(garage.paid(driver, start=start, end=start + timedelta(minutes=30)), driver)
    garage.pass_of(garage.paid(away, start=start, end=start + timedelta(minutes=30)), away)
    assert garage.scan("entry", code=booked["code"])["result"] == "ok"
    with app.app_context():
        deliver_outbox()
    smtp_server.messages.clear()
    fcm.received.clear()

    race(app, [lambda c: queue(app)] * 2)
    assert queue(app) == 1  # queued again, stored once
    [message] = parking_messages(app)
    assert (message["recipient_uid"], message["channels"]) == (driver.uid,
                                                               {"email": "none", "push": "pending", "sms": "pending"})
    with app.app_context():
        assert deliver_outbox() == {"sent": 1}
    [push] = fcm.received
    assert push["body"]["message"]["fid"] == "phone-p1"
    assert push["body"]["message"]["notification"]["title"] == "Your parking ends soon"
    assert booked["space"] in push["body"]["message"]["notification"]["body"]
    assert smtp_server.to(driver.email) == []


def test_a_reminder_for_a_pass_refunded_since_is_skipped(app, make_garage, make_user, fcm):  # noqa: F811
    garage = make_garage()
    driver = make_user()
    start = slot_start()
    paid = garage.paid(driver, start=start, end=start + timedelta(minutes=30))
    booked = garage.pass_of(paid, driver)
    garage.scan("entry", code=booked["code"])
    assert queue(app) == 1
    refunded = garage.shop.refund(garage.owner, paid["id"], allow_checked_in=True)
    assert refunded.status_code == 201, refunded.json
    with app.app_context():
        outcomes = deliver_outbox()
    assert outcomes.get("skipped", 0) >= 1
    assert [m["state"] for m in parking_messages(app)] == ["skipped"]


def test_a_parked_driver_with_a_verified_phone_is_texted_before_the_booking_ends(
        app, make_garage, make_user, verify_phone, twilio):  # noqa: F811
    garage = make_garage()
    driver = make_user()
    verify_phone(driver, "+4915112345679")
    start = slot_start()
    booked = garage.pass_of(garage.paid(driver, start=start, end=start + timedelta(minutes=30)), driver)
    garage.scan("entry", code=booked["code"])
    with app.app_context():
        deliver_outbox()
    twilio.reset()
    queue(app)
    with app.app_context():
        assert deliver_outbox() == {"sent": 1}
    [text] = twilio.messages()
    assert text["to"] == "+4915112345679"
    assert f"Space {booked['space']} at " in text["body"]
