"""Each person's channels per kind of message, and quiet hours in their own time zone."""
from datetime import timedelta
from zoneinfo import ZoneInfo

import time_machine

from app.notifications import reminders
from app.timeutil import utcnow
from tests.notifications.test_sms import PHONE, outbox

PREFS = "/api/v1/users/me/notification-preferences"
NEW_YORK = ZoneInfo("America/New_York")
NIGHTS = {"start": "22:00", "end": "08:00", "timezone": "America/New_York"}


def test_defaults_and_changes_per_kind_and_channel(client, make_user, verify_phone):
    user = make_user()
    prefs = client.get(PREFS, headers=user.headers).json
    assert set(prefs["channels"]) == {"order_confirmation", "reminder", "event_cancelled", "refund",
                                      "parking_ending", "order_ready"}
    assert prefs["channels"]["reminder"] == {"email": True, "push": True, "sms": True}
    assert prefs["channels"]["order_confirmation"] == {"email": True, "push": True, "sms": False}
    assert (prefs["quiet_hours"], prefs["sms_opted_out"]) == (None, False)

    verify_phone(user, PHONE)
    changed = client.patch(PREFS, headers=user.headers, json={
        "channels": {"reminder": {"sms": False}, "refund": {"email": False, "sms": True}}, "quiet_hours": NIGHTS})
    assert changed.status_code == 200
    again = client.get(PREFS, headers=user.headers).json
    assert again == changed.json
    assert again["channels"]["reminder"] == {"email": True, "push": True, "sms": False}
    assert again["channels"]["refund"] == {"email": False, "push": True, "sms": True}
    assert again["quiet_hours"] == NIGHTS
    assert client.patch(PREFS, headers=user.headers, json={"quiet_hours": None}).json["quiet_hours"] is None


def test_bad_preferences_are_422_and_change_nothing(client, make_user):
    user = make_user()
    before = client.get(PREFS, headers=user.headers).json
    for body in ({}, {"channels": {"horoscope": {"email": False}}}, {"channels": {"reminder": {"fax": True}}},
                 {"channels": {"reminder": {"email": "nope"}}},
                 {"quiet_hours": {"start": "25:00", "end": "08:00", "timezone": "Europe/Berlin"}},
                 {"quiet_hours": {"start": "22:00", "end": "22:00", "timezone": "Europe/Berlin"}},
                 {"quiet_hours": {"start": "22:00", "end": "08:00", "timezone": "Mars/Olympus"}},
                 {"quiet_hours": {"start": "22:00", "end": "08:00"}}):
        response = client.patch(PREFS, headers=user.headers, json=body)
        assert response.status_code == 422, body
    assert client.get(PREFS, headers=user.headers).json == before


def test_a_channel_turned_off_for_a_kind_is_not_used_for_it(app, client, make_box, make_user, verify_phone,
                                                            smtp_server, fcm, twilio):
    box = make_box()
    buyer = make_user()
    verify_phone(buyer, PHONE)
    client.patch(PREFS, headers=buyer.headers, json={"channels": {"refund": {"email": False, "sms": True}}})
    order = box.buy(buyer)
    box.settle(smtp_server, fcm, twilio)

    box.refund(order["id"])
    assert box.deliver() == {"sent": 1}
    [message] = outbox(app, "refund")
    assert message["channels"] == {"email": "off", "push": "none", "sms": "sent"}
    assert smtp_server.messages == []
    [text] = twilio.messages()
    assert "refund of 25.00 EUR" in text["body"]


def morning_in_new_york(days=10):
    local = (utcnow() + timedelta(days=days)).astimezone(NEW_YORK)
    return local.replace(hour=9, minute=0, second=0, microsecond=0)


def test_quiet_hours_delay_a_reminder_until_they_end_but_not_what_cannot_wait(
        app, client, make_box, make_user, verify_phone, smtp_server, fcm, twilio):
    starts = morning_in_new_york()
    box = make_box(title="Early Birds", timezone="America/New_York", starts_at=starts,
                   ends_at=starts + timedelta(hours=3), reminder_offsets_minutes=[120])
    holder = make_user()
    verify_phone(holder, PHONE)
    client.patch(PREFS, headers=holder.headers, json={"quiet_hours": NIGHTS})
    due = starts - timedelta(hours=2)  # 07:00 in New York, inside 22:00-08:00
    quiet_ends = starts - timedelta(hours=1)

    box.buy(holder)  # its confirmation is queued, not yet delivered

    with time_machine.travel(due + timedelta(seconds=30), tick=False):
        # The tickets just bought cannot wait: their confirmation goes out in the quiet hours too.
        assert box.deliver() == {"sent": 1}
        assert len(smtp_server.to(holder.email)) == 1
        with app.app_context():
            assert reminders.send_reminders() == 1
        assert box.deliver() == {"deferred": 1}
    [reminder] = outbox(app, "reminder")
    assert reminder["due_at"] == quiet_ends and reminder["attempts"] == 0
    with time_machine.travel(quiet_ends - timedelta(seconds=1), tick=False):
        assert box.deliver() == {}
    assert len(smtp_server.to(holder.email)) == 1 and twilio.messages() == []

    with time_machine.travel(quiet_ends + timedelta(seconds=1), tick=False):
        assert box.deliver() == {"sent": 1}
    assert [m["Subject"].startswith("Reminder: Early Birds") for m in smtp_server.to(holder.email)] == [False, True]
    [text] = twilio.messages()
    assert text["body"].startswith("Reminder: Early Birds")
    assert outbox(app, "reminder")[0]["attempts"] == 1
