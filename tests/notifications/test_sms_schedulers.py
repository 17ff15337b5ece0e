"""Two real scheduler processes, one reminder: its text reaches the phone through the Twilio stand-in once."""
import signal
from datetime import timedelta

from app.leases import SCHEDULER_LEASE, get_lease
from app.timeutil import utcnow
from tests.conftest import wait_for
from tests.notifications.test_sms import PHONE, outbox


def leader_pid(app):
    with app.app_context():
        lease = get_lease(SCHEDULER_LEASE)
    return int(lease["holder"].split(":")[1]) if lease else None


def test_two_schedulers_text_a_reminder_once(app, make_box, make_user, verify_phone, smtp_server, fcm, twilio,
                                             start_scheduler, tmp_path):
    # Due now for real: the scheduler processes run on the real clock.
    starts = utcnow().replace(microsecond=0) + timedelta(minutes=50)
    box = make_box(title="Tonight", starts_at=starts, ends_at=starts + timedelta(hours=2),
                   reminder_offsets_minutes=[60])
    holder = make_user()
    verify_phone(holder, PHONE)
    box.buy(holder)
    box.settle(smtp_server, fcm, twilio)

    schedulers = [start_scheduler(**twilio.env()), start_scheduler(**twilio.env())]
    wait_for(lambda: twilio.messages(), timeout=150, interval=0.5)
    wait_for(lambda: [m for m in outbox(app, "reminder") if m["state"] == "sent"], timeout=30)

    # The leader steps down; the other takes over and works the outbox (a late buyer's confirmation
    # goes out), and still the reminder is not texted again.
    [leader] = [p for p in schedulers if p.pid == leader_pid(app)]
    [standby] = [p for p in schedulers if p is not leader]
    leader.send_signal(signal.SIGTERM)
    assert leader.wait(timeout=30) == 0
    wait_for(lambda: leader_pid(app) == standby.pid, timeout=30)
    late = make_user()
    box.buy(late)
    wait_for(lambda: [m for m in outbox(app, "order_confirmation")
                      if m["recipient_uid"] == late.uid and m["state"] == "sent"], timeout=60, interval=0.5)
    standby.send_signal(signal.SIGTERM)
    assert standby.wait(timeout=30) == 0

    [text] = twilio.messages()
    assert text["to"] == PHONE and text["body"].startswith("Reminder: Tonight starts ")
    [message] = outbox(app, "reminder")
    assert message["channels"]["sms"] == "sent" and message["sms"]["sid"] == text["sid"]
    for number in range(2):
        assert "Traceback" not in (tmp_path / f"scheduler-{number}.stderr").read_text()
