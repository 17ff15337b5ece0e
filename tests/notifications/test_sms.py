"""The SMS channel: the real twilio client against the loopback stand-in, verified numbers only, once each."""
from datetime import timedelta

import time_machine

from app.notifications import delivery, reminders
from app.notifications.service import list_messages, message_ref
from tests.notifications.conftest import WEBHOOK_BASE, reminded_event

PHONE = "+4915112345678"


def outbox(app, kind):
    with app.app_context():
        return [m for m in list_messages(limit=100)["items"] if m["kind"] == kind]


def remind(app, box, starts, **travel):
    """Run the reminder job when the 60-minute reminder is due and deliver what it queued."""
    with time_machine.travel(starts - timedelta(minutes=59), **travel):
        with app.app_context():
            reminders.send_reminders()
        return box.deliver()


def test_a_reminder_reaches_a_verified_phone_through_twilio_once(app, reminded_holder, smtp_server, twilio):
    box, starts, holder = reminded_holder()

    assert remind(app, box, starts) == {"sent": 1}
    assert remind(app, box, starts) == {}

    [text] = twilio.messages()
    assert text["to"] == PHONE and text["from"] == twilio.from_number
    assert text["body"].startswith("Reminder: Harbour Lights starts ")
    assert text["body"].endswith("Reply STOP to opt out.")
    [message] = outbox(app, "reminder")
    assert text["form"]["StatusCallback"] == f"{WEBHOOK_BASE}/api/v1/sms/webhooks/twilio/status/{message['id']}"
    assert message["channels"] == {"email": "sent", "push": "none", "sms": "sent"}
    assert message["sms"]["sid"] == text["sid"] and message["sms"]["status"] == "queued"
    assert len(smtp_server.to(holder.email)) == 1


def test_an_unverified_or_taken_number_gets_no_text(app, client, make_box, make_user, verify_phone, smtp_server,
                                                    fcm, twilio):
    box, starts = reminded_event(make_box)
    owner, pending, latecomer = make_user(), make_user(), make_user()
    verify_phone(owner, PHONE)
    # One asked for a code and never confirmed it; the other wanted a number someone else holds.
    assert client.post("/api/v1/users/me/phone", json={"phone": "+4915199999999"},
                       headers=pending.headers).status_code == 202
    taken = client.post("/api/v1/users/me/phone", json={"phone": PHONE}, headers=latecomer.headers)
    assert taken.status_code == 409 and taken.json["error"]["code"] == "phone_taken"
    refused = client.patch("/api/v1/users/me/notification-preferences", headers=pending.headers,
                           json={"channels": {"refund": {"sms": True}}})
    assert refused.status_code == 409 and refused.json["error"]["code"] == "phone_not_verified"
    for person in (owner, pending, latecomer):
        box.buy(person)
    box.settle(smtp_server, fcm, twilio)

    assert remind(app, box, starts) == {"sent": 3}
    assert [t["to"] for t in twilio.messages()] == [PHONE]
    by_uid = {m["recipient_uid"]: m["channels"]["sms"] for m in outbox(app, "reminder")}
    assert by_uid == {owner.uid: "sent", pending.uid: "none", latecomer.uid: "none"}


def test_a_failed_text_is_retried_after_backoff_without_repeating_what_went_through(reminded_holder, smtp_server,
                                                                                    twilio):
    box, starts, holder = reminded_holder()
    # One text a day for this account: a retry must not count twice.
    box.app.config["SMS_ACCOUNT_DAILY_LIMIT"] = 1
    twilio.fail(503, times=1)

    due = starts - timedelta(minutes=59)
    assert remind(box.app, box, starts, tick=False) == {"pending": 1}
    [message] = outbox(box.app, "reminder")
    assert message["channels"] == {"email": "sent", "push": "none", "sms": "pending"}
    assert "TwilioRestException" in message["last_error"]
    with time_machine.travel(due + timedelta(seconds=59), tick=False):
        assert box.deliver() == {}
    with time_machine.travel(due + timedelta(seconds=61), tick=False):
        assert box.deliver() == {"sent": 1}
    assert [t["to"] for t in twilio.messages()] == [PHONE]
    assert len(smtp_server.to(holder.email)) == 1


def test_a_text_interrupted_by_a_crash_is_parked_not_repeated(app, reminded_holder, twilio):
    box, starts, holder = reminded_holder()
    due = starts - timedelta(minutes=59)
    with time_machine.travel(due, tick=False):
        with app.app_context():
            reminders.send_reminders()
            [message] = outbox(app, "reminder")
            ref = message_ref(message["id"])
            # A scheduler sends the e-mail, starts the text, and dies before recording it.
            assert delivery._claim(ref, "crashed") is not None
            assert delivery._write_if_holder(ref, "crashed", {
                "inflight": "sms", "channels": {"email": "sent", "push": "none", "sms": "pending"}})
    with time_machine.travel(due + timedelta(seconds=app.config["OUTBOX_LEASE_SECONDS"] + 1), tick=False):
        assert box.deliver(holder="other") == {"parked": 1}
    [message] = outbox(app, "reminder")
    assert message["channels"]["sms"] == "unknown"
    assert twilio.messages() == []


def test_the_daily_limits_hold_for_texts_too(make_box, make_user, verify_phone, smtp_server, fcm, twilio):
    first, starts = reminded_event(make_box)
    second, _ = reminded_event(make_box, starts=starts)
    third, _ = reminded_event(make_box, starts=starts + timedelta(days=1))
    holder, abroad = make_user(), make_user()
    verify_phone(holder, PHONE)
    verify_phone(abroad, "+447700900123")
    for box in (first, second, third):
        box.buy(holder)
    first.buy(abroad)
    first.settle(smtp_server, fcm, twilio)
    first.app.config.update(SMS_ACCOUNT_DAILY_LIMIT=1, SMS_COUNTRY_DAILY_CAPS={"+49": 100, "*": 0})

    assert remind(first.app, first, starts) == {"sent": 3}
    channels = {(m["recipient_uid"], m["data"]["event_id"]): m["channels"]["sms"]
                for m in outbox(first.app, "reminder")}
    # One of the holder's two reminders today got its text, the other hit the account's limit;
    # the number in the UK matches no allowed prefix.
    assert sorted(channels[(holder.uid, b.id)] for b in (first, second)) == ["limited", "sent"]
    assert channels[(abroad.uid, first.id)] == "limited"
    assert [t["to"] for t in twilio.messages()] == [PHONE]
    assert len(smtp_server.to(holder.email)) == 2 and len(smtp_server.to(abroad.email)) == 1

    # The next day the account has a text again.
    assert remind(first.app, third, starts + timedelta(days=1)) == {"sent": 1}
    assert [t["to"] for t in twilio.messages()] == [PHONE, PHONE]


def test_a_number_twilio_reports_unsubscribed_is_opted_out(app, client, reminded_holder):
    # Twilio's magic test number for a recipient who opted out with Twilio itself (error 21610).
    box, starts, holder = reminded_holder("+15005550004")

    assert remind(app, box, starts) == {"sent": 1}
    [message] = outbox(app, "reminder")
    assert message["channels"]["sms"] == "off"
    prefs = client.get("/api/v1/users/me/notification-preferences", headers=holder.headers)
    assert prefs.json["sms_opted_out"] is True
