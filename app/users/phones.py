"""Phone numbers: E.164, verified through Firebase Auth's phone sign-in, one account per number.

The verified number lives on the Firebase Auth account (``phone_number``).
Firebase sets it only once the code it texted has been confirmed (through
these endpoints, or a mobile SDK's ``linkWithCredential``) and never gives one
number to two accounts. Text messages go only to that number, read from the
account when they are sent, so an unverified number never gets one. The
profile keeps a copy for ``GET /auth/me``.

Asking for a code first checks that no other account holds the number (a
duplicate costs no SMS) and takes one unit of the day's SMS quota
(``app.smsquota``): Firebase sends the code, but the API is what a pumper
would call.
"""
import logging

from app.errors import AppError
from app.firebase import UserNotFoundError, get_firebase
from app.smsquota import take_sms_quota
from app.timeutil import utcnow
from app.users import identity
from app.users.service import get_profile, profile_ref

logger = logging.getLogger(__name__)


def _holder(phone):
    try:
        return get_firebase().get_user_by_phone_number(phone).uid
    except UserNotFoundError:
        return None


def verified_phone(uid):
    """The account's verified number, or None (no number, or no account any more)."""
    try:
        return get_firebase().get_user(uid).phone_number
    except UserNotFoundError:
        return None


def get_phone(uid):
    phone = verified_phone(uid)
    return {"phone": phone, "verified": phone is not None}


def request_phone_verification(user, phone, *, recaptcha_token=None):
    """Have Firebase text a code to ``phone``; the verification id it returns goes with the code to confirm."""
    if _holder(phone) not in (None, user.uid):
        raise AppError("phone_taken")
    take_sms_quota(user.uid, phone)
    verification_id = identity.send_phone_code(phone, recaptcha_token=recaptcha_token)
    logger.info("phone verification code requested uid=%s", user.uid)
    return {"verification_id": verification_id, "phone": phone}


def confirm_phone(user, id_token, verification_id, code):
    """Attach the number the code went to to the caller's account; a number another account holds is refused."""
    get_profile(user)
    phone = identity.link_phone(id_token, verification_id, code)
    profile_ref(user.uid).update({"phone": phone, "updated_at": utcnow()})
    logger.info("phone verified uid=%s", user.uid)
    return {"phone": phone, "verified": True}


def remove_phone(user):
    """Forget the caller's number: no more text messages until another is verified."""
    get_profile(user)
    get_firebase().remove_phone_number(user.uid)
    profile_ref(user.uid).update({"phone": None, "updated_at": utcnow()})
    logger.info("phone removed uid=%s", user.uid)
