"""A local stand-in for the few Stripe API endpoints Boxoffice calls, and signed webhook deliveries.

It speaks the wire format the ``stripe`` library uses (form-encoded requests,
JSON answers, ``Idempotency-Key`` replays, Stripe-shaped errors), keeps
PaymentIntents and refunds in memory, and signs webhook payloads with a test
secret exactly as Stripe does, so the app's real client and real signature
check are exercised. It can be told to be down (503 ``api_error``, which the
library retries and then raises as ``APIError``) and to answer new refunds
``pending``, as Stripe does for many payment methods.
"""
import itertools
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import stripe

SECRET_KEY = "sk_test_boxoffice"
WEBHOOK_SECRET = "whsec_boxoffice_test"
_ids = itertools.count(1)


def _nested(pairs):
    """metadata[order_id]=x → {"metadata": {"order_id": "x"}}, as Stripe decodes form bodies."""
    result = {}
    for key, value in pairs:
        parts = re.findall(r"[^\[\]]+", key)
        target = result
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = value
    return result


class StripeStub:
    def __init__(self):
        self.intents, self.refunds, self.requests = {}, {}, []
        self.down, self.refund_status = False, "succeeded"
        self._replies = {}
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, status, body):
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def _handle(self, method):
                length = int(self.headers.get("Content-Length") or 0)
                params = _nested(parse_qsl(self.rfile.read(length).decode())) if length else {}
                if self.headers.get("Authorization") != f"Bearer {SECRET_KEY}":
                    return self._answer(401, {"error": {"type": "invalid_request_error",
                                                        "message": "Invalid API Key provided"}})
                key = self.headers.get("Idempotency-Key")
                with stub._lock:
                    stub.requests.append((method, self.path, params))
                    if stub.down:
                        return self._answer(503, {"error": {"type": "api_error", "message": "Stripe is down."}})
                    if key and (method, key) in stub._replies:
                        return self._answer(*stub._replies[(method, key)])
                    status, body = stub.route(method, self.path, params)
                    if key:
                        stub._replies[(method, key)] = (status, body)
                self._answer(status, body)

            def do_GET(self):
                self._handle("GET")

            def do_POST(self):
                self._handle("POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)

    def route(self, method, path, params):
        if method == "POST" and path == "/v1/payment_intents":
            intent_id = f"pi_test{next(_ids):06d}"
            intent = {"id": intent_id, "object": "payment_intent", "amount": int(params["amount"]),
                      "amount_received": 0, "currency": params["currency"], "status": "requires_payment_method",
                      "client_secret": f"{intent_id}_secret_test", "metadata": params.get("metadata", {}),
                      "last_payment_error": None}
            self.intents[intent_id] = intent
            return 200, intent
        match = re.fullmatch(r"/v1/payment_intents/(\w+)(/cancel)?", path)
        if match and match.group(1) in self.intents:
            intent = self.intents[match.group(1)]
            if match.group(2) and method == "POST":
                if intent["status"] == "succeeded":
                    return 400, {"error": {"type": "invalid_request_error", "code": "payment_intent_unexpected_state",
                                           "message": "This PaymentIntent has already succeeded."}}
                intent["status"] = "canceled"
            return 200, intent
        if method == "POST" and path == "/v1/refunds":
            intent = self.intents.get(params.get("payment_intent"))
            if intent is None or intent["status"] != "succeeded":
                return 400, {"error": {"type": "invalid_request_error", "message": "No such charge to refund."}}
            if int(params["amount"]) + self.refunded(intent["id"]) > intent["amount_received"]:
                return 400, {"error": {"type": "invalid_request_error", "code": "charge_already_refunded",
                                       "message": "The refund exceeds what is left of the charge."}}
            refund = {"id": f"re_test{next(_ids):06d}", "object": "refund", "amount": int(params["amount"]),
                      "payment_intent": intent["id"], "status": self.refund_status,
                      "metadata": params.get("metadata", {})}
            self.refunds[refund["id"]] = refund
            return 200, refund
        match = re.fullmatch(r"/v1/refunds/(\w+)", path)
        if method == "GET" and match and match.group(1) in self.refunds:
            return 200, self.refunds[match.group(1)]
        return 404, {"error": {"type": "invalid_request_error", "message": f"Unrecognized request URL {path}."}}

    def refunded(self, intent_id):
        return sum(r["amount"] for r in self.refunds.values() if r["payment_intent"] == intent_id)

    def succeed(self, intent_id, *, amount=None, currency=None):
        """The buyer's client confirmed and the card was charged."""
        intent = self.intents[intent_id]
        intent.update(status="succeeded", amount_received=intent["amount"] if amount is None else amount,
                      currency=currency or intent["currency"])
        return dict(intent)

    def settle_refund(self, refund_id, status="succeeded"):
        """The bank paid the refund out (or gave up on it): the refund as Stripe's webhook sends it."""
        self.refunds[refund_id]["status"] = status
        return dict(self.refunds[refund_id])

    def fail(self, intent_id, message="Your card was declined."):
        intent = self.intents[intent_id]
        intent.update(status="requires_payment_method", last_payment_error={"message": message})
        return dict(intent)


def webhook(event_type, obj, *, event_id=None, secret=WEBHOOK_SECRET, timestamp=None):
    """(body, headers) of a webhook delivery signed as Stripe signs it."""
    event = {"id": event_id or f"evt_test{next(_ids):06d}", "object": "event", "type": event_type,
             "created": int(time.time()), "data": {"object": obj}, "livemode": False, "api_version": "2024-06-20"}
    body = json.dumps(event)
    signature = stripe.WebhookSignature.generate_signature_header(body, secret, timestamp=timestamp)
    return body, {"Stripe-Signature": signature, "Content-Type": "application/json"}
