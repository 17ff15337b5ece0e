from datetime import timedelta
from zoneinfo import ZoneInfo

import time_machine

from app.notifications import reminders
from app.notifications import service as notifications
from app.timeutil import utcnow
from tests.factories import race

NEW_YORK = ZoneInfo("America/New_York")


def evening_in_new_york(days=10):
    local = (utcnow() + timedelta(days=days)).astimezone(NEW_YORK)
    return local.replace(hour=19, minute=30, second=0, microsecond=0)


def queue_reminders(app):
    with app.app_context():
        return reminders.send_reminders()


def test_reminders_fire_at_each_offset_in_the_events_time_zone_once_and_not_for_refunds(
        app, client, make_box, make_user, fcm, smtp_server):
    starts = evening_in_new_york()
    box = make_box(title="Harbour Lights", timezone="America/New_York", starts_at=starts,
                   ends_at=starts + timedelta(hours=3))
    holder, refunded = make_user(), make_user()
    client.post("/api/v1/users/me/devices", json={"token": "phone-1", "platform": "ios"}, headers=holder.headers)
    box.buy(holder, quantity=2)
    box.refund(box.buy(refunded)["id"])
    box.settle(smtp_server, fcm)
    day_before, two_hours_before = starts - timedelta(hours=24), starts - timedelta(hours=2)

    with time_machine.travel(day_before - timedelta(minutes=1)):
        assert queue_reminders(app) == 0
        assert box.deliver() == {}
    with time_machine.travel(day_before + timedelta(seconds=30)):
        assert queue_reminders(app) == 1
        assert queue_reminders(app) == 0
        assert box.deliver() == {"sent": 1}
    [mail] = smtp_server.to(holder.email)
    subject = f"Reminder: Harbour Lights starts {starts:%A} {starts.day} {starts:%B %Y}, 19:30 (America/New_York)"
    assert mail["Subject"] == subject
    assert "Your tickets: 2" in mail.get_body(preferencelist=("plain",)).get_content()
    assert [r["body"]["message"]["data"]["offset_minutes"] for r in fcm.received] == ["1440"]

    with time_machine.travel(two_hours_before - timedelta(minutes=1)):
        assert queue_reminders(app) == 0
        assert box.deliver() == {}
    with time_machine.travel(two_hours_before + timedelta(seconds=30)):
        assert queue_reminders(app) == 1
        assert box.deliver() == {"sent": 1}
    with time_machine.travel(two_hours_before + timedelta(minutes=90)):
        assert queue_reminders(app) == 0
        assert box.deliver() == {}
    with time_machine.travel(starts + timedelta(minutes=1)):
        assert queue_reminders(app) == 0

    assert [m["Subject"] for m in smtp_server.to(holder.email)] == [subject, subject]
    assert [r["body"]["message"]["data"]["offset_minutes"] for r in fcm.received] == ["1440", "120"]
    assert smtp_server.to(refunded.email) == []


def test_two_schedulers_queue_each_holders_reminder_once(app, make_box, make_user, smtp_server, fcm):
    starts = evening_in_new_york()
    box = make_box(timezone="America/New_York", starts_at=starts, ends_at=starts + timedelta(hours=3),
                   reminder_offsets_minutes=[60])
    holders = [make_user(), make_user()]
    for holder in holders:
        box.buy(holder)
    box.settle(smtp_server, fcm)

    def run(_client):
        with app.app_context():
            return reminders.send_reminders()

    with time_machine.travel(starts - timedelta(minutes=59)):
        race(app, [run, run])
        with app.app_context():
            # A run after a crash between queueing and its marker queues nothing new either.
            reminders.queue_event_reminders(box.id, 60)
            queued = notifications.list_messages(limit=10)["items"]
            assert len([m for m in queued if m["kind"] == "reminder"]) == 2
        box.deliver()
    assert [len(smtp_server.to(h.email)) for h in holders] == [1, 1]


def test_a_reminder_queued_before_a_refund_or_cancellation_is_skipped(app, make_box, make_user, smtp_server, fcm):
    starts = evening_in_new_york()
    box = make_box(timezone="America/New_York", starts_at=starts, ends_at=starts + timedelta(hours=3))
    holder, other = make_user(), make_user()
    order = box.buy(holder)
    box.buy(other)
    box.settle(smtp_server, fcm)
    with time_machine.travel(starts - timedelta(hours=23)):
        assert queue_reminders(app) == 2
    box.refund(order["id"])
    box.cancel()
    with time_machine.travel(starts - timedelta(hours=22)):
        # The refund notice, the cancellation notice and the refund the cancellation made go out; the two
        # reminders do not.
        assert box.deliver() == {"skipped": 2, "sent": 3}
    subjects = [m["message"]["Subject"] for m in smtp_server.messages]
    assert len(subjects) == 3 and not any(s.startswith("Reminder") for s in subjects)
