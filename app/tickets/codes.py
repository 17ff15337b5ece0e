"""Ticket codes: compact, signed with the event's Ed25519 key, checkable offline at the gate.

A code is the unpadded base64url of::

    version (1 byte) | event id length (1 byte) | event id (ASCII) | ticket id (16 bytes) | signature (64 bytes)

and the signature covers every byte before it, so a code names its event and
ticket and cannot be altered or moved to another event. With a 20-character
event id a code is 102 bytes, 136 characters: a version-7 QR code at medium
error correction, easy for a phone camera. A scanner holding the event's
public key verifies a code without the network; whether the ticket is still
valid (not refunded, not used) is the check-in's business.
"""
import base64
import binascii

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

VERSION = 1
TICKET_ID_BYTES = 16
SIGNATURE_BYTES = 64


class InvalidTicketCode(ValueError):
    """The code is malformed, for another event, or its signature does not match."""


def _b64encode(raw):
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _b64decode(text):
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise InvalidTicketCode("The code is not base64url.") from None


def sign_code(private_key, event_id, ticket_id):
    """The code of ticket ``ticket_id`` (32 hex characters) of event ``event_id``."""
    event = event_id.encode("ascii")
    body = bytes([VERSION, len(event)]) + event + bytes.fromhex(ticket_id)
    return _b64encode(body + private_key.sign(body))


def parse_code(code):
    """(event id, ticket id, signed bytes, signature) of a well-formed code, unverified."""
    if not isinstance(code, str) or not 0 < len(code) <= 512:
        raise InvalidTicketCode("The code is empty or too long.")
    raw = _b64decode(code)
    if len(raw) < 2 or raw[0] != VERSION:
        raise InvalidTicketCode("Unknown code version.")
    event_end = 2 + raw[1]
    if len(raw) != event_end + TICKET_ID_BYTES + SIGNATURE_BYTES:
        raise InvalidTicketCode("The code has the wrong length.")
    try:
        event_id = raw[2:event_end].decode("ascii")
    except UnicodeDecodeError:
        raise InvalidTicketCode("The code's event id is not ASCII.") from None
    body_end = event_end + TICKET_ID_BYTES
    return event_id, raw[event_end:body_end].hex(), raw[:body_end], raw[body_end:]


def public_key_from(value):
    """An Ed25519 public key from the key object, its 32 raw bytes, or their base64url text."""
    if isinstance(value, Ed25519PublicKey):
        return value
    raw = _b64decode(value) if isinstance(value, str) else value
    try:
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        raise InvalidTicketCode("Not an Ed25519 public key.") from None


def verify_ticket_code(code, public_key, *, event_id=None):
    """``{"event_id", "ticket_id"}`` of a genuine code, else :class:`InvalidTicketCode`.

    Works offline: ``public_key`` is the event's check-in key (see
    ``tickets.service.get_checkin_public_key``). Pass ``event_id`` to refuse
    codes of other events before checking the signature.
    """
    code_event, ticket_id, body, signature = parse_code(code)
    if event_id is not None and code_event != event_id:
        raise InvalidTicketCode("The code is for another event.")
    try:
        public_key_from(public_key).verify(signature, body)
    except InvalidSignature:
        raise InvalidTicketCode("The code's signature does not match.") from None
    return {"event_id": code_event, "ticket_id": ticket_id}


def encode_public_key(public_key):
    return _b64encode(public_key.public_bytes(Encoding.Raw, PublicFormat.Raw))
