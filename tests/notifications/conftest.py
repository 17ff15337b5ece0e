"""Notification fixtures: the real SMTP server on loopback (tests/mailbox.py), FCM and Twilio stand-ins, and paid
tickets for events.

FCM cannot run here, so ``FcmStandIn`` answers the FCM v1 send call
(``POST /v1/projects/<p>/messages:send``) the way FCM does, from a thread on a
free port: tokens starting ``dead-`` get FCM's UNREGISTERED error, ``down-``
a 503, anything else a message name. Twilio cannot run here either: its
stand-in (``devstack/twilio_standin.py``) is one child process for the whole
run, stopped by PID, and forgets its texts before each test.
"""
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from app.auth import Role
from app.events import lifecycle
from app.notifications.delivery import deliver_outbox
from app.timeutil import utcnow
from devstack.twilio_standin import TwilioStandIn
from tests.factories import current, shop_for
from tests.mailbox import smtp_config

# Twilio signs its callbacks over the URL it called; Flask's test client serves http://localhost.
WEBHOOK_BASE = "http://localhost"


class FcmStandIn(BaseHTTPRequestHandler):
    requests = None

    def do_POST(self):  # noqa: N802  (http.server's naming)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.requests.append({"path": self.path, "body": body, "headers": dict(self.headers)})
        token = body["message"]["fid"]
        if token.startswith("dead-"):
            status, answer = 404, {"error": {"code": 404, "message": "Requested entity was not found.",
                                             "status": "NOT_FOUND", "details": [{
                                                 "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                                                 "errorCode": "UNREGISTERED"}]}}
        elif token.startswith("down-"):
            status, answer = 503, {"error": {"code": 503, "message": "The service is currently unavailable.",
                                             "status": "UNAVAILABLE"}}
        else:
            status, answer = 200, {"name": f"projects/p/messages/{len(self.requests)}"}
        raw = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args):
        pass


@pytest.fixture
def fcm():
    received = []
    handler = type("Handler", (FcmStandIn,), {"requests": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.received = received
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def twilio_standin(tmp_path_factory):
    with TwilioStandIn(log_dir=tmp_path_factory.mktemp("twilio-logs")) as standin:
        yield standin


@pytest.fixture
def twilio(twilio_standin):
    twilio_standin.reset()
    return twilio_standin


@pytest.fixture
def app(make_app, smtp_server, fcm, twilio):
    return make_app(**smtp_config(smtp_server), PUSH_CHANNEL="fcm", FCM_API_BASE=fcm.url, OUTBOX_MAX_ATTEMPTS=3,
                    OUTBOX_BACKOFF_SECONDS=60, SMS_WEBHOOK_BASE_URL=WEBHOOK_BASE, **twilio.env())


class Box:
    """An organizer's published event and the API calls that put tickets into buyers' hands."""

    def __init__(self, app, client, owner, event):
        self.app, self.client, self.owner, self.event = app, client, owner, event
        self.shop = shop_for(client, owner, event)

    @property
    def id(self):
        return self.event["id"]

    def buy(self, buyer, quantity=1):
        """A paid order's JSON (the box office marks it paid); its confirmation is queued, not yet sent."""
        return self.shop.paid(buyer, quantity)

    def refund(self, order_id):
        response = self.shop.refund(self.owner, order_id)
        assert response.status_code == 201, response.json
        return response.json

    def cancel(self):
        response = self.client.post(f"/api/v1/events/{self.id}/cancel", headers=self.owner.headers)
        assert response.status_code == 200, response.json
        return response.json

    def deliver(self, **kwargs):
        with self.app.app_context():
            return deliver_outbox(**kwargs)

    def settle(self, mailbox, fcm, twilio=None):
        """Send what buying and refunding queued, then forget it: the test starts from a quiet outbox."""
        self.deliver()
        mailbox.messages.clear()
        fcm.received.clear()
        if twilio:
            twilio.reset()


@pytest.fixture
def make_box(app, client, make_user, make_event):
    def build(**event_overrides):
        owner = make_user(Role.ORGANIZER)
        event = make_event(owner, published=False, **event_overrides)
        with app.app_context():
            event = lifecycle.publish_event(event["id"], current(owner))
        return Box(app, client, owner, event)

    return build


def soon(days=10):
    return utcnow().replace(microsecond=0) + timedelta(days=days)


def reminded_event(make_box, starts=None):
    """(box, starts) of an event whose one reminder is due 60 minutes before it starts."""
    starts = starts or soon()
    return make_box(title="Harbour Lights", starts_at=starts, ends_at=starts + timedelta(hours=3),
                    reminder_offsets_minutes=[60]), starts


@pytest.fixture
def reminded_holder(make_box, make_user, verify_phone, smtp_server, fcm, twilio):
    """(box, starts, holder): a reminded event and a holder with a verified phone; what buying sent is forgotten."""
    def build(phone="+4915112345678"):
        box, starts = reminded_event(make_box)
        holder = make_user()
        verify_phone(holder, phone)
        box.buy(holder)
        box.settle(smtp_server, fcm, twilio)
        return box, starts, holder

    return build
