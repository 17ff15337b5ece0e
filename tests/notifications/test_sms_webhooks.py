"""Twilio's signed webhooks: STOP and START replies, and delivery status callbacks."""
from twilio.request_validator import RequestValidator

from app.auth import Role
from tests.notifications.conftest import WEBHOOK_BASE
from tests.notifications.test_sms import PHONE, outbox, remind

INBOUND = "/api/v1/sms/webhooks/twilio/inbound"


def signed(twilio, path, form, *, token=None):
    """The headers Twilio sends with a webhook: the signature over the URL it called and the form fields."""
    signature = RequestValidator(token or twilio.auth_token).compute_signature(WEBHOOK_BASE + path, form)
    return {"X-Twilio-Signature": signature}


def reply(client, twilio, body, *, token=None):
    form = {"MessageSid": "SM" + "1" * 32, "AccountSid": twilio.account_sid, "From": PHONE,
            "To": twilio.from_number, "Body": body}
    return client.post(INBOUND, data=form, headers=signed(twilio, INBOUND, form, token=token))


def opted_out(client, user):
    return client.get("/api/v1/users/me/notification-preferences", headers=user.headers).json["sms_opted_out"]


def test_stop_with_twilios_signature_opts_the_number_out_and_start_back_in(app, client, reminded_holder, twilio):
    box, starts, holder = reminded_holder()

    answer = reply(client, twilio, " stop ")
    assert answer.status_code == 200
    assert answer.mimetype == "text/xml" and b"<Response" in answer.data
    assert opted_out(client, holder) is True
    assert remind(app, box, starts) == {"sent": 1}
    [message] = outbox(app, "reminder")
    assert message["channels"] == {"email": "sent", "push": "none", "sms": "off"}
    assert twilio.messages() == []

    assert reply(client, twilio, "START").status_code == 200
    assert opted_out(client, holder) is False
    # Any other reply changes nothing.
    assert reply(client, twilio, "stop sending me the wrong time please").status_code == 200
    assert opted_out(client, holder) is False


def test_a_forged_or_missing_signature_is_refused_and_changes_nothing(client, make_user, verify_phone, twilio):
    holder = make_user()
    verify_phone(holder, PHONE)

    forged = reply(client, twilio, "STOP", token="f" * 32)
    assert forged.status_code == 400
    assert forged.json["error"]["code"] == "invalid_signature"
    unsigned = client.post(INBOUND, data={"From": PHONE, "Body": "STOP"})
    assert unsigned.status_code == 400
    # A signature over other fields does not cover these.
    form = {"From": PHONE, "Body": "HELLO"}
    tampered = client.post(INBOUND, data={**form, "Body": "STOP"}, headers=signed(twilio, INBOUND, form))
    assert tampered.status_code == 400
    assert opted_out(client, holder) is False


def test_signed_status_callbacks_move_the_outbox_entry_forward(app, client, make_user, reminded_holder, twilio):
    box, starts, holder = reminded_holder()
    remind(app, box, starts)
    [text] = twilio.messages()
    [message] = outbox(app, "reminder")
    path = text["form"]["StatusCallback"].removeprefix(WEBHOOK_BASE)

    def callback(status, *, token=None, sid=text["sid"], **extra):
        form = {"MessageSid": sid, "MessageStatus": status, "AccountSid": twilio.account_sid, "To": PHONE, **extra}
        return client.post(path, data=form, headers=signed(twilio, path, form, token=token))

    assert callback("sent").status_code == 204
    assert outbox(app, "reminder")[0]["sms"]["status"] == "sent"
    assert callback("undelivered", ErrorCode="30003").status_code == 204
    # Twilio does not promise order: a late "sent" cannot undo "undelivered".
    assert callback("sent").status_code == 204
    forged = callback("delivered", token="f" * 32)
    assert forged.status_code == 400 and forged.json["error"]["code"] == "invalid_signature"
    assert callback("delivered", sid="SM" + "9" * 32).status_code == 404

    listed = client.get("/api/v1/admin/notifications", headers=make_user(Role.ADMIN).headers)
    [entry] = [m for m in listed.json["items"] if m["id"] == message["id"]]
    assert (entry["sms"]["sid"], entry["sms"]["status"], entry["sms"]["error_code"]) == (
        text["sid"], "undelivered", "30003")

    unknown = "/api/v1/sms/webhooks/twilio/status/" + "0" * 32
    form = {"MessageSid": text["sid"], "MessageStatus": "delivered"}
    assert client.post(unknown, data=form, headers=signed(twilio, unknown, form)).status_code == 404


def test_the_webhooks_refuse_what_twilio_would_not_send_with_a_clear_4xx(client, twilio):
    status = "/api/v1/sms/webhooks/twilio/status/" + "0" * 32
    answers = [client.post(INBOUND, json={"From": PHONE, "Body": "STOP"}).status_code,
               client.post(INBOUND, data="Body=STOP", content_type="text/plain").status_code,
               client.post(status, data={"MessageStatus": "delivered"}).status_code,
               client.post("/api/v1/sms/webhooks/twilio/status/..", data={}).status_code]
    assert answers == [400, 415, 400, 400]
