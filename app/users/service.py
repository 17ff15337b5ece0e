"""Accounts and profiles: sessions over REST, the profile document, devices, roles, erasure."""
import hashlib
import logging
import re

from google.api_core import exceptions as gexc

from app.audit import service as audit
from app.auth import Role, token_cache
from app.errors import AppError
from app.firebase import UserNotFoundError, db, get_firebase
from app.revocations import revoke_sessions
from app.timeutil import utcnow
from app.users import identity

logger = logging.getLogger(__name__)

USERS = "users"
DEVICES = "devices"
MAX_DEVICES = 50
# The phone number is not among them: it is set by verifying it (app/users/phones.py).
PROFILE_FIELDS = ("display_name", "locale")


def profile_ref(uid):
    return db().collection(USERS).document(uid)


def _new_profile(uid, email, display_name=None, role=Role.CUSTOMER):
    now = utcnow()
    return {"uid": uid, "email": email, "display_name": display_name, "phone": None, "locale": None,
            "role": str(role), "created_at": now, "updated_at": now, "deleted_at": None}


def _ensure_profile(uid, email, role):
    ref = profile_ref(uid)
    snapshot = ref.get()
    if snapshot.exists:
        return snapshot.to_dict()
    profile = _new_profile(uid, email, role=role)
    try:
        ref.create(profile)
    except gexc.AlreadyExists:
        return ref.get().to_dict()
    return profile


def register_user(email, password, *, display_name=None):
    session = identity.sign_up(email, password)
    uid = session["uid"]
    if display_name:
        get_firebase().update_user(uid, display_name=display_name)
    profile_ref(uid).set(_new_profile(uid, email, display_name))
    logger.info("user registered uid=%s", uid)
    return session


def log_in(email, password):
    return identity.sign_in(email, password)


def refresh_session(refresh_token):
    return identity.exchange_refresh_token(refresh_token)


def request_password_reset(email):
    try:
        identity.send_password_reset(email)
    except identity.IdentityError as exc:
        # Saying whether an address has an account would let anyone probe for accounts.
        if exc.reason != "EMAIL_NOT_FOUND":
            raise


def get_profile(user):
    """The caller's profile, created on first sight for users who signed up through a mobile SDK."""
    profile = _ensure_profile(user.uid, user.email, user.role)
    if profile.get("deleted_at"):
        raise AppError("account_deleted", "This account has been deleted.")
    return {**profile, "role": str(user.role), "email_verified": user.email_verified}


def update_profile(user, **changes):
    profile = get_profile(user)
    changes = {k: v for k, v in changes.items() if k in PROFILE_FIELDS}
    changes["updated_at"] = utcnow()
    profile_ref(user.uid).update(changes)
    if "display_name" in changes:
        get_firebase().update_user(user.uid, display_name=changes["display_name"])
    logger.info("profile updated uid=%s fields=%s", user.uid, sorted(changes))
    return {**profile, **changes}


def _device_id(token):
    return hashlib.sha256(token.encode()).hexdigest()[:32]


def register_device(uid, token, *, platform):
    devices = profile_ref(uid).collection(DEVICES)
    ref = devices.document(_device_id(token))
    now = utcnow()
    snapshot = ref.get()
    if snapshot.exists:
        ref.update({"platform": platform, "last_seen_at": now})
        return {**snapshot.to_dict(), "platform": platform, "last_seen_at": now}
    if devices.count().get()[0][0].value >= MAX_DEVICES:
        raise AppError("too_many_devices", f"An account can register at most {MAX_DEVICES} devices.")
    device = {"id": ref.id, "token": token, "platform": platform, "created_at": now, "last_seen_at": now}
    ref.set(device)
    logger.info("device registered uid=%s device=%s", uid, ref.id)
    return device


def remove_device(uid, device_id):
    # Ids come from _device_id; anything else (".", "..", "__x__") is no document id Firestore accepts.
    if not re.fullmatch(r"[0-9a-f]{32}", device_id):
        raise AppError("not_found", "No such device.")
    ref = profile_ref(uid).collection(DEVICES).document(device_id)
    if not ref.get().exists:
        raise AppError("not_found", "No such device.")
    ref.delete()


def list_devices(uid):
    """The user's registered devices as they see them: no push tokens."""
    return [{k: v for k, v in doc.to_dict().items() if k != "token"}
            for doc in profile_ref(uid).collection(DEVICES).stream()]


def contact_details(uids):
    """{uid: {email, display_name}} from the profiles (blank for erased accounts), for an organizer's lists."""
    found = {uid: {"email": None, "display_name": None} for uid in uids}
    for snapshot in db().get_all([profile_ref(uid) for uid in found], field_paths=["email", "display_name"]):
        if snapshot.exists:
            found[snapshot.id] = {k: (snapshot.to_dict() or {}).get(k) for k in ("email", "display_name")}
    return found


def list_device_tokens(uid):
    """The FCM tokens the user's devices registered."""
    return [doc.get("token") for doc in profile_ref(uid).collection(DEVICES).stream()]


def remove_device_token(uid, token):
    """Forget a token FCM reports dead; already gone is fine."""
    profile_ref(uid).collection(DEVICES).document(_device_id(token)).delete()
    logger.info("device token removed uid=%s device=%s", uid, _device_id(token))


def erase_user(uid):
    """Erase personal data and the login; financial records keep only the anonymous uid. The audit entry says
    which personal fields were erased, never their values."""
    profile = profile_ref(uid)
    batch = db().batch()
    devices = list(profile.collection(DEVICES).list_documents())
    for device in devices:
        batch.delete(device)
    now = utcnow()
    erased = {"email": None, "display_name": None, "phone": None, "locale": None}
    stored = profile.get().to_dict() or {}
    held = sorted(k for k in erased if stored.get(k) is not None)
    batch.set(profile, {"uid": uid, **erased, "deleted_at": now, "updated_at": now}, merge=True)
    audit.record("user.erased", actor_uid=uid, target=f"user/{uid}",
                 before={"personal_fields": held, "devices": len(devices), "deleted_at": None},
                 after={"personal_fields": [], "devices": 0, "deleted_at": now}, transaction=batch, now=now)
    batch.commit()
    # The account gets no new tokens once deleted, so even those of this very second are refused.
    revoke_sessions(uid, including_this_second=True)
    try:
        get_firebase().delete_user(uid)
    except UserNotFoundError:
        pass
    token_cache().forget_uid(uid)
    logger.info("user erased uid=%s", uid)


def set_role(uid, role, *, actor_uid=None):
    firebase = get_firebase()
    try:
        account = firebase.get_user(uid)
    except (UserNotFoundError, ValueError):
        # firebase_admin refuses malformed uids (over 128 characters) with ValueError.
        raise AppError("not_found", "No such user.") from None
    claims = dict(account.custom_claims or {})
    previous = claims.get("role", str(Role.CUSTOMER))
    claims["role"] = str(role)
    firebase.set_custom_claims(uid, claims)
    # New claims reach the user with their next ID token. Revoking makes real Firebase refuse the old
    # refresh token, and every worker refuse the old ID token, so the change cannot be dodged.
    revoke_sessions(uid)
    token_cache().forget_uid(uid)
    now = utcnow()
    _ensure_profile(uid, account.email, role)
    batch = db().batch()
    batch.update(profile_ref(uid), {"role": str(role), "updated_at": now})
    audit.record("user.role_changed", actor_uid=actor_uid, target=f"user/{uid}", before={"role": previous},
                 after={"role": str(role)}, transaction=batch, now=now)
    batch.commit()
    logger.info("role changed uid=%s role=%s", uid, role)
    return {"uid": uid, "role": str(role), "updated_at": now}
