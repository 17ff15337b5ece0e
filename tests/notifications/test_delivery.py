from datetime import timedelta

import time_machine

from app.auth import Role
from app.notifications import delivery, reminders
from app.notifications import service as notifications
from app.notifications.compose import qr_png
from app.notifications.service import message_ref
from app.timeutil import utcnow
from app.users import service as users
from tests.factories import race
from tests.mailbox import free_port


def outbox(app, msg_id):
    with app.app_context():
        return message_ref(msg_id).get().to_dict()


def register_device(client, user, token):
    response = client.post("/api/v1/users/me/devices", json={"token": token, "platform": "android"},
                           headers=user.headers)
    assert response.status_code == 201, response.json


def test_order_confirmation_arrives_by_smtp_with_each_tickets_qr_code(app, client, make_box, make_user, smtp_server):
    box = make_box(title="Night of Strings")
    buyer = make_user()
    order = box.buy(buyer, quantity=2)
    with app.app_context():
        first = notifications.notify_order_paid(order["id"])
        again = notifications.notify_order_paid(order["id"])
    assert again["id"] == first["id"]

    assert box.deliver() == {"sent": 1}
    assert box.deliver() == {}

    [mail] = smtp_server.to(buyer.email)
    assert len(smtp_server.messages) == 1
    assert mail["Subject"] == "Your order for Night of Strings"
    assert mail["From"] == "Boxoffice <tickets@boxoffice.test>"
    text = mail.get_body(preferencelist=("plain",)).get_content()
    html = mail.get_body(preferencelist=("html",)).get_content()
    images = {part["Content-ID"].strip("<>"): part.get_content() for part in mail.walk()
              if part.get_content_type() == "image/png"}
    tickets = [client.get(f"/api/v1/tickets/{t['ticket_id']}", headers=buyer.headers).json for t in order["tickets"]]
    assert len(tickets) == len(images) == 2
    assert "50.00 EUR" in text
    for ticket in tickets:
        assert ticket["id"] in text and ticket["code"] in text
        cid = f"qr-{ticket['id']}@boxoffice"
        assert f'src="cid:{cid}"' in html
        assert images[cid] == qr_png(ticket["code"])
    assert outbox(app, first["id"])["channels"] == {"email": "sent", "push": "none", "sms": "off"}


def test_push_goes_through_fcm_and_dead_tokens_are_removed(app, client, make_box, make_user, fcm, smtp_server):
    box = make_box()
    buyer = make_user()
    register_device(client, buyer, "good-token")
    register_device(client, buyer, "dead-token")
    order = box.buy(buyer)
    with app.app_context():
        notifications.notify_order_paid(order["id"])
    assert box.deliver() == {"sent": 1}

    assert sorted(r["body"]["message"]["fid"] for r in fcm.received) == ["dead-token", "good-token"]
    request = fcm.received[0]
    assert request["path"] == f"/v1/projects/{app.config['FIREBASE_PROJECT_ID']}/messages:send"
    assert request["body"]["message"]["notification"] == {"title": "Your order is confirmed",
                                                          "body": f"1 item for {box.event['title']}"}
    assert request["body"]["message"]["data"]["order_id"] == order["id"]
    with app.app_context():
        assert users.list_device_tokens(buyer.uid) == ["good-token"]

    refund = box.refund(order["id"])
    with app.app_context():
        notifications.notify_refund(order["id"], refund["refunds"][0]["id"])
    box.deliver()
    assert [r["body"]["message"]["fid"] for r in fcm.received[2:]] == ["good-token"]
    assert "25.00 EUR" in fcm.received[2]["body"]["message"]["notification"]["title"] + \
        fcm.received[2]["body"]["message"]["notification"]["body"]
    assert smtp_server.to(buyer.email)[-1]["Subject"] == f"Refund of 25.00 EUR for {box.event['title']}"


def test_a_failing_channel_is_retried_with_backoff_then_parked_for_admins(app, client, make_box, make_user, fcm,
                                                                          smtp_server):
    box = make_box()
    buyer, admin = make_user(), make_user(Role.ADMIN)
    register_device(client, buyer, "good-token")
    box.buy(buyer)
    box.settle(smtp_server, fcm)  # the order confirmation, while SMTP still answers
    app.config["SMTP_PORT"] = free_port()  # nothing listens: every e-mail attempt fails
    box.cancel()  # queues the cancellation notice, and the refund notice of the paid order it refunds
    with app.app_context():
        assert reminders.notify_event_cancelled(box.id) == 1  # again: still one notice per holder
        queued = notifications.list_messages(limit=10)["items"]
        [message] = [m for m in queued if m["kind"] == "event_cancelled"]
    assert sorted(m["kind"] for m in queued if m["state"] == "pending") == ["event_cancelled", "refund"]

    start = utcnow()
    assert box.deliver() == {"pending": 2}
    state = outbox(app, message["id"])
    assert state["channels"] == {"email": "pending", "push": "sent", "sms": "none"}
    assert "ConnectionRefusedError" in state["last_error"]
    assert box.deliver() == {}  # not due before its backoff
    with time_machine.travel(start + timedelta(seconds=59)):
        assert box.deliver() == {}
    with time_machine.travel(start + timedelta(seconds=61)):
        assert box.deliver() == {"pending": 2}  # second attempt; the next waits twice as long
    with time_machine.travel(start + timedelta(seconds=61 + 119)):
        assert box.deliver() == {}
    with time_machine.travel(start + timedelta(seconds=61 + 121)):
        assert box.deliver() == {"parked": 2}
    with time_machine.travel(start + timedelta(days=1)):
        assert box.deliver() == {}
    assert len(fcm.received) == 2  # each push went through once and was never repeated
    assert smtp_server.messages == []

    listed = client.get("/api/v1/admin/notifications?state=parked", headers=admin.headers)
    assert listed.status_code == 200
    [parked] = [m for m in listed.json["items"] if m["kind"] == "event_cancelled"]
    assert (parked["id"], parked["kind"], parked["attempts"]) == (message["id"], "event_cancelled", 3)
    assert "ConnectionRefusedError" in parked["last_error"]
    assert client.get("/api/v1/admin/notifications?state=parked", headers=buyer.headers).status_code == 403
    assert client.get("/api/v1/admin/notifications?state=bogus", headers=admin.headers).status_code == 422

    app.config["SMTP_PORT"] = smtp_server.port
    retried = client.post(f"/api/v1/admin/notifications/{message['id']}/retry", headers=admin.headers)
    assert retried.status_code == 200 and retried.json["state"] == "pending"
    assert box.deliver() == {"sent": 1}
    [mail] = smtp_server.to(buyer.email)
    assert mail["Subject"] == f"Cancelled: {box.event['title']}"
    assert len(fcm.received) == 2


def test_a_send_interrupted_by_a_crash_is_parked_not_repeated(app, client, make_box, make_user, smtp_server):
    box = make_box()
    buyer = make_user()
    order = box.buy(buyer)
    with app.app_context():
        message = notifications.notify_order_paid(order["id"])
        ref = message_ref(message["id"])
        # A scheduler claims the message, starts the e-mail, and dies before recording it.
        assert delivery._claim(ref, "crashed-scheduler") is not None
        assert delivery._write_if_holder(ref, "crashed-scheduler", {"inflight": "email"})
    assert box.deliver(holder="other") == {}  # its lease still runs
    with time_machine.travel(utcnow() + timedelta(seconds=app.config["OUTBOX_LEASE_SECONDS"] + 1)):
        assert box.deliver(holder="other") == {"parked": 1}
    state = outbox(app, message["id"])
    assert state["channels"] == {"email": "unknown", "push": "none", "sms": "off"}
    assert "interrupted" in state["last_error"]
    assert smtp_server.messages == []


def test_two_schedulers_deliver_a_message_once(app, make_box, make_user, smtp_server):
    box = make_box()
    buyer = make_user()
    order = box.buy(buyer)
    with app.app_context():
        notifications.notify_order_paid(order["id"])

    def deliver_as(holder):
        def call(_client):
            with app.app_context():
                return delivery.deliver_outbox(holder=holder)
        return call

    results = race(app, [deliver_as("scheduler-a"), deliver_as("scheduler-b")])
    assert sum(r.get("sent", 0) for r in results) == 1
    assert len(smtp_server.to(buyer.email)) == 1
