"""A local stand-in for the few Stripe API endpoints Boxoffice calls, and signed webhook deliveries.

It speaks the wire format the ``stripe`` library uses (form-encoded requests,
JSON answers, ``Idempotency-Key`` replays, Stripe-shaped errors), keeps
PaymentIntents and refunds in memory, and signs webhook payloads with a test
secret exactly as Stripe does, so the app's real client and real signature
check are exercised. It can be told to be down (503 ``api_error``, which the
library retries and then raises as ``APIError``) and to answer new refunds
``pending``, as Stripe does for many payment methods.

For Connect it keeps connected accounts (created restricted, enabled by
``enable``, as Stripe's hosted onboarding would), account links, transfers
(refused to an account that cannot receive, or beyond what is left of the
charge they are tied to) and transfer reversals (refused beyond what is left
of the transfer). ``localstripe`` would have done the payments half, but it
has no Connect at all, so this stand-in does both.
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
        self.accounts, self.links, self.transfers, self.reversals = {}, [], {}, {}
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
                      "transfer_group": params.get("transfer_group"),
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
        connect = self.route_connect(method, path, params)
        if connect is not None:
            return connect
        return 404, {"error": {"type": "invalid_request_error", "message": f"Unrecognized request URL {path}."}}

    def route_connect(self, method, path, params):
        if method == "POST" and path == "/v1/accounts":
            account = {"id": f"acct_test{next(_ids):06d}", "object": "account", "type": params.get("type"),
                       "country": params.get("country", "DE"), "charges_enabled": False, "payouts_enabled": False,
                       "details_submitted": False, "metadata": params.get("metadata", {}),
                       "requirements": {"currently_due": ["external_account", "tos_acceptance.date"]}}
            self.accounts[account["id"]] = account
            return 200, account
        match = re.fullmatch(r"/v1/accounts/(\w+)", path)
        if method == "GET" and match and match.group(1) in self.accounts:
            return 200, self.accounts[match.group(1)]
        if method == "POST" and path == "/v1/account_links":
            if params.get("account") not in self.accounts:
                return 400, _invalid(f"No such account: {params.get('account')}")
            link = {"object": "account_link", "created": int(time.time()), "expires_at": int(time.time()) + 300,
                    "url": f"{self.url}/setup/{params['account']}/{next(_ids)}"}
            self.links.append({**link, "account": params["account"], "type": params.get("type")})
            return 200, link
        if method == "POST" and path == "/v1/transfers":
            return self.create_transfer(params)
        match = re.fullmatch(r"/v1/transfers/(\w+)/reversals", path)
        if method == "POST" and match and match.group(1) in self.transfers:
            return self.create_reversal(self.transfers[match.group(1)], params)
        return None

    def create_transfer(self, params):
        account = self.accounts.get(params.get("destination"))
        if account is None or not (account["charges_enabled"] and account["payouts_enabled"]):
            return 400, _invalid("Your destination account needs to have at least one of the following capabilities "
                                 "enabled: transfers, crypto_transfers, legacy_payments.")
        amount, charge = int(params["amount"]), params.get("source_transaction")
        if charge is not None:
            intent = next((i for i in self.intents.values() if i.get("latest_charge") == charge), None)
            if intent is None:
                return 400, _invalid(f"No such charge: {charge}")
            if amount + self.transferred(charge) > intent["amount_received"]:
                return 400, _invalid("Insufficient funds in the source transaction.", "balance_insufficient")
        transfer = {"id": f"tr_test{next(_ids):06d}", "object": "transfer", "amount": amount,
                    "currency": params["currency"], "destination": account["id"], "amount_reversed": 0,
                    "transfer_group": params.get("transfer_group"), "source_transaction": charge,
                    "metadata": params.get("metadata", {})}
        self.transfers[transfer["id"]] = transfer
        return 200, transfer

    def create_reversal(self, transfer, params):
        amount = int(params["amount"])
        if amount + transfer["amount_reversed"] > transfer["amount"]:
            return 400, _invalid("The reversal exceeds what is left of the transfer.")
        transfer["amount_reversed"] += amount
        reversal = {"id": f"trr_test{next(_ids):06d}", "object": "transfer_reversal", "amount": amount,
                    "transfer": transfer["id"], "metadata": params.get("metadata", {})}
        self.reversals[reversal["id"]] = reversal
        return 200, reversal

    def transferred(self, charge):
        return sum(t["amount"] for t in self.transfers.values() if t["source_transaction"] == charge)

    def net_transferred(self, account_id):
        """What the connected account was transferred, less what was reversed."""
        return sum(t["amount"] - t["amount_reversed"] for t in self.transfers.values()
                   if t["destination"] == account_id)

    def enable(self, account_id, *, payouts=True):
        """The party finished onboarding: the account as ``account.updated`` sends it."""
        self.accounts[account_id].update(charges_enabled=True, payouts_enabled=payouts, details_submitted=True,
                                         requirements={"currently_due": []})
        return dict(self.accounts[account_id])

    def dispute(self, intent_id, *, status="needs_response"):
        """The cardholder's bank disputes the whole charge: the dispute as ``charge.dispute.*`` sends it."""
        intent = self.intents[intent_id]
        return {"id": f"dp_test{intent_id[-6:]}", "object": "dispute", "amount": intent["amount_received"],
                "currency": intent["currency"], "charge": intent["latest_charge"], "payment_intent": intent_id,
                "status": status, "reason": "fraudulent"}

    def refunded(self, intent_id):
        return sum(r["amount"] for r in self.refunds.values() if r["payment_intent"] == intent_id)

    def succeed(self, intent_id, *, amount=None, currency=None):
        """The buyer's client confirmed and the card was charged."""
        intent = self.intents[intent_id]
        intent.update(status="succeeded", amount_received=intent["amount"] if amount is None else amount,
                      currency=currency or intent["currency"], latest_charge=f"ch_{intent_id[3:]}")
        return dict(intent)

    def settle_refund(self, refund_id, status="succeeded"):
        """The bank paid the refund out (or gave up on it): the refund as Stripe's webhook sends it."""
        self.refunds[refund_id]["status"] = status
        return dict(self.refunds[refund_id])

    def fail(self, intent_id, message="Your card was declined."):
        intent = self.intents[intent_id]
        intent.update(status="requires_payment_method", last_payment_error={"message": message})
        return dict(intent)


def _invalid(message, code=None):
    return {"error": {"type": "invalid_request_error", "message": message, **({"code": code} if code else {})}}


def webhook(event_type, obj, *, event_id=None, secret=WEBHOOK_SECRET, timestamp=None):
    """(body, headers) of a webhook delivery signed as Stripe signs it."""
    event = {"id": event_id or f"evt_test{next(_ids):06d}", "object": "event", "type": event_type,
             "created": int(time.time()), "data": {"object": obj}, "livemode": False, "api_version": "2024-06-20"}
    body = json.dumps(event)
    signature = stripe.WebhookSignature.generate_signature_header(body, secret, timestamp=timestamp)
    return body, {"Stripe-Signature": signature, "Content-Type": "application/json"}
