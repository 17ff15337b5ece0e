"""A stand-in for Twilio's Messages API, on loopback, for tests and local runs.

Twilio cannot run here, so the app's real ``twilio`` client talks to this
instead (``TWILIO_API_BASE``). It answers what the library sends for a text:
``POST /2010-04-01/Accounts/<AccountSid>/Messages.json`` with form fields
``To``, ``Body`` and ``From`` or ``MessagingServiceSid`` (and optionally
``StatusCallback``), HTTP Basic auth of the account SID and auth token. It
answers 201 with a message resource (``SM...`` sid, status ``queued``) or a
Twilio-shaped error: 20003 for wrong credentials, 21602/21603/21604 for
missing fields, 21211 for a number that is not E.164. Twilio's magic test
numbers behave as with its test credentials: +15005550001 is invalid (21211),
+15005550004 has opted out (21610), +15005550009 cannot take texts (21614).

With ``--callbacks`` it posts status callbacks (``sent``, then ``delivered``)
to each text's ``StatusCallback``, signed as Twilio signs them, from a
thread; ``make run`` turns that on.

Paths Twilio has not, for tests: ``/_standin/messages`` (GET: every text
accepted, with its form fields; DELETE forgets them), ``/_standin/fault``
(PUT ``{"status": 503, "times": 1}`` makes the next texts fail; DELETE clears)
and ``/_standin/ready``.

Run it with ``python -m devstack.twilio_standin --port PORT``; ``TwilioStandIn``
starts it as a child process on a free port and stops it by PID.
"""
import argparse
import base64
import email.utils
import json
import re
import secrets
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

from twilio.request_validator import RequestValidator

from .procs import LocalServer, http_body, json_request, serve_in_foreground

ACCOUNT_SID = "AC" + "b0c5" * 8
AUTH_TOKEN = "0123456789abcdef0123456789abcdef"
FROM_NUMBER = "+15005550006"
E164 = re.compile(r"\+[1-9][0-9]{6,14}")
MESSAGES = re.compile(r"/2010-04-01/Accounts/(AC[0-9a-f]{32})/Messages\.json")
MAGIC = {"+15005550001": (21211, "The 'To' number +15005550001 is not a valid phone number."),
         "+15005550004": (21610, "Attempt to send to unsubscribed recipient"),
         "+15005550009": (21614, "'To' number is not a valid mobile number")}


def _error(status, code, message):
    return status, {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}",
                    "status": status}


class Twilio:
    """The texts accepted so far, the fault to inject, and the answers."""

    def __init__(self, account_sid, auth_token, callbacks):
        self.account_sid, self.auth_token, self.callbacks = account_sid, auth_token, callbacks
        self.messages, self.fault = [], None
        self.lock = threading.Lock()

    def authorised(self, header, account_sid):
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return header == f"Basic {expected}" and account_sid == self.account_sid

    def create(self, form):
        with self.lock:
            if self.fault and self.fault["times"] != 0:
                self.fault["times"] -= 1
                return _error(self.fault["status"], 20500, "An internal server error has occurred.")
        to, body = form.get("To"), form.get("Body")
        sender = form.get("From") or form.get("MessagingServiceSid")
        if not to:
            return _error(400, 21604, "A 'To' phone number is required.")
        if not body:
            return _error(400, 21602, "Message body is required.")
        if not sender:
            return _error(400, 21603, "A 'From' phone number is required.")
        if to in MAGIC:
            return _error(400, *MAGIC[to])
        if not E164.fullmatch(to):
            return _error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        sid = "SM" + secrets.token_hex(16)
        now = email.utils.formatdate(usegmt=True)
        message = {"sid": sid, "account_sid": self.account_sid, "to": to, "from": form.get("From"),
                   "messaging_service_sid": form.get("MessagingServiceSid"), "body": body, "status": "queued",
                   "num_segments": str(len(body) // 153 + 1), "direction": "outbound-api", "api_version": "2010-04-01",
                   "date_created": now, "date_updated": now, "date_sent": None, "price": None, "price_unit": "USD",
                   "error_code": None, "error_message": None, "num_media": "0",
                   "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json", "subresource_uris": {}}
        with self.lock:
            self.messages.append({**message, "form": form})
        # Its log is where a developer running `make run` reads the texts.
        print(f"text {sid} to {to}: {body}", flush=True)
        if self.callbacks and form.get("StatusCallback"):
            threading.Thread(target=self._report, args=(form["StatusCallback"], message), daemon=True).start()
        return 201, message

    def _report(self, url, message):
        for status in ("sent", "delivered"):
            time.sleep(0.5)
            form = {"MessageSid": message["sid"], "SmsSid": message["sid"], "AccountSid": self.account_sid,
                    "MessageStatus": status, "SmsStatus": status, "To": message["to"], "From": message["from"] or "",
                    "ApiVersion": "2010-04-01"}
            signature = RequestValidator(self.auth_token).compute_signature(url, form)
            request = urllib.request.Request(url, data=urlencode(form).encode(), method="POST", headers={
                "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature})
            try:
                urllib.request.urlopen(request, timeout=10).close()
            except OSError as exc:
                print(f"twilio stand-in: status callback to {url} failed: {exc}", file=sys.stderr, flush=True)
                return


class Handler(BaseHTTPRequestHandler):
    twilio = None

    def log_message(self, *args):
        pass

    def _reply(self, status, body):
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def _body(self):
        return self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()

    def do_POST(self):  # noqa: N802  (http.server's naming)
        match = MESSAGES.fullmatch(self.path)
        if not match:
            return self._reply(*_error(404, 20404, f"The requested resource {self.path} was not found"))
        form = dict(parse_qsl(self._body()))
        if not self.twilio.authorised(self.headers.get("Authorization"), match.group(1)):
            return self._reply(*_error(401, 20003, "Authenticate"))
        self._reply(*self.twilio.create(form))

    def do_GET(self):  # noqa: N802
        if self.path == "/_standin/ready":
            return self._reply(200, "ready")
        if self.path == "/_standin/messages":
            with self.twilio.lock:
                return self._reply(200, list(self.twilio.messages))
        self._reply(*_error(404, 20404, f"The requested resource {self.path} was not found"))

    def do_PUT(self):  # noqa: N802
        if self.path != "/_standin/fault":
            return self._reply(404, None)
        fault = json.loads(self._body())
        with self.twilio.lock:
            self.twilio.fault = {"status": int(fault.get("status", 503)), "times": int(fault.get("times", -1))}
        self._reply(200, self.twilio.fault)

    def do_DELETE(self):  # noqa: N802
        with self.twilio.lock:
            if self.path == "/_standin/messages":
                self.twilio.messages.clear()
            elif self.path == "/_standin/fault":
                self.twilio.fault = None
            else:
                return self._reply(404, None)
        self._reply(200, None)


def serve(port, host="127.0.0.1", *, account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, callbacks=False):
    handler = type("BoundHandler", (Handler,), {"twilio": Twilio(account_sid, auth_token, callbacks)})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


class TwilioStandIn(LocalServer):
    """The stand-in as a child process on its own port, stopped by PID."""

    name = "twilio-standin"
    cwd = Path(__file__).resolve().parent.parent
    account_sid, auth_token, from_number = ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER

    def __init__(self, port=None, log_dir=None, *, callbacks=False):
        super().__init__(port, log_dir)
        self.callbacks = callbacks

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def env(self):
        """What the app needs to send its texts here."""
        return {"SMS_CHANNEL": "twilio", "TWILIO_API_BASE": self.url, "TWILIO_ACCOUNT_SID": self.account_sid,
                "TWILIO_AUTH_TOKEN": self.auth_token, "TWILIO_FROM": self.from_number}

    def command(self, tmp):
        return [sys.executable, "-m", "devstack.twilio_standin", "--port", self.port,
                *(["--callbacks"] if self.callbacks else [])]

    def ready(self):
        return http_body(f"{self.url}/_standin/ready") is not None

    def _control(self, method, path, body=None):
        return json_request(method, f"{self.url}/_standin/{path}", body)

    def messages(self):
        """Every text accepted since the last reset, oldest first, each with the form fields it came with."""
        return self._control("GET", "messages")

    def fail(self, status=503, times=-1):
        """Make the next ``times`` texts (all, with -1) fail with ``status``."""
        self._control("PUT", "fault", {"status": status, "times": times})

    def reset(self):
        self._control("DELETE", "messages")
        self._control("DELETE", "fault")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m devstack.twilio_standin", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--callbacks", action="store_true", help="post signed status callbacks to StatusCallback")
    args = parser.parse_args(argv)
    return serve_in_foreground(serve(args.port, args.host, callbacks=args.callbacks), "twilio stand-in")


if __name__ == "__main__":
    sys.exit(main())
