"""Signed things the parking domain hands out: quotes, session charges and pass codes.

All are HMAC-SHA256 with a key derived from ``SECRET_KEY`` and a purpose, so a
quote can never be passed off as a charge or a pass, and nothing is stored to
check them: what a client sends back is what the server signed, or it is
refused. Quotes and charges are a JSON payload and its MAC (``<payload>.<mac>``,
base64url); a pass code is compact for its QR code: version, the 16-byte pass
id and a 16-byte MAC, 44 characters. Changing ``SECRET_KEY`` invalidates every
pass and quote handed out, as it does sessions.
"""
import base64
import binascii
import hashlib
import hmac
import json

from flask import current_app

PASS_VERSION = 1
PASS_ID_BYTES = 16
PASS_MAC_BYTES = 16


class InvalidCode(ValueError):
    """Malformed, or not signed by this deployment for this purpose."""


def _key(purpose):
    return hmac.new(current_app.config["SECRET_KEY"].encode(), f"boxoffice/parking/{purpose}".encode(),
                    hashlib.sha256).digest()


def _b64(raw):
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text):
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise InvalidCode("not base64url") from None


def sign(purpose, payload):
    body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
    return f"{body}.{_b64(hmac.new(_key(purpose), body.encode(), hashlib.sha256).digest())}"


def verify(purpose, token):
    """The payload of a token this deployment signed for ``purpose``; InvalidCode otherwise."""
    if not isinstance(token, str) or token.count(".") != 1 or len(token) > 2048:
        raise InvalidCode("malformed")
    body, mac = token.split(".")
    expected = hmac.new(_key(purpose), body.encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(expected, _unb64(mac)):
        raise InvalidCode("the signature does not match")
    try:
        payload = json.loads(_unb64(body))
    except ValueError:
        raise InvalidCode("the payload is not JSON") from None
    if not isinstance(payload, dict):
        raise InvalidCode("the payload is not an object")
    return payload


def sign_pass(pass_id):
    """The code of pass ``pass_id`` (32 hex characters)."""
    body = bytes([PASS_VERSION]) + bytes.fromhex(pass_id)
    return _b64(body + hmac.new(_key("pass"), body, hashlib.sha256).digest()[:PASS_MAC_BYTES])


def verify_pass(code):
    """The pass id of a genuine code; InvalidCode otherwise."""
    if not isinstance(code, str) or not 0 < len(code) <= 128:
        raise InvalidCode("empty or too long")
    raw = _unb64(code)
    if len(raw) != 1 + PASS_ID_BYTES + PASS_MAC_BYTES or raw[0] != PASS_VERSION:
        raise InvalidCode("not a parking pass")
    body, mac = raw[:1 + PASS_ID_BYTES], raw[1 + PASS_ID_BYTES:]
    if not hmac.compare_digest(hmac.new(_key("pass"), body, hashlib.sha256).digest()[:PASS_MAC_BYTES], mac):
        raise InvalidCode("the signature does not match")
    return body[1:].hex()
