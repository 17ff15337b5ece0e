"""Firebase accounts as the back office sees them: sign-in times, disabling, and changing a password.

The account itself lives in Firebase Auth; these read and change it through
``app.firebase`` and Firebase's REST API (``identity``). Disabling sets
Firebase's ``disabled`` flag and revokes the account's sessions
(``app.revocations``): it can no longer sign in or refresh, and every worker
refuses the ID tokens it was issued within REVOCATION_POLL_SECONDS.
"""
import logging
from datetime import UTC, datetime

from app.audit import service as audit
from app.auth import Role, token_cache
from app.errors import AppError, field_error
from app.firebase import UserNotFoundError, get_firebase
from app.revocations import revoke_sessions
from app.users import identity

logger = logging.getLogger(__name__)


def _moment(milliseconds):
    return datetime.fromtimestamp(milliseconds / 1000, UTC) if milliseconds else None


def account_view(account):
    """What admins (and the account's owner) see of a Firebase account."""
    metadata = account.user_metadata
    return {"uid": account.uid, "email": account.email, "display_name": account.display_name,
            "phone": account.phone_number, "role": (account.custom_claims or {}).get("role", str(Role.CUSTOMER)),
            "disabled": account.disabled, "email_verified": account.email_verified,
            "providers": sorted(p.provider_id for p in account.provider_data),
            "created_at": _moment(metadata.creation_timestamp),
            "last_sign_in_at": _moment(metadata.last_sign_in_timestamp),
            "last_refresh_at": _moment(metadata.last_refresh_timestamp)}


def _account(uid):
    try:
        return get_firebase().get_user(uid)
    except (UserNotFoundError, ValueError):
        # firebase_admin refuses malformed uids (over 128 characters) with ValueError.
        raise AppError("not_found", "No such user.") from None


def get_account(uid):
    return account_view(_account(uid))


def find_account(email):
    """The account with this e-mail address; 404 when there is none."""
    try:
        return account_view(get_firebase().get_user_by_email(email))
    except (UserNotFoundError, ValueError):
        raise AppError("not_found", "No account has this e-mail address.") from None


def set_disabled(uid, actor, *, disabled):
    """An admin disables (or enables again) an account; disabling also ends its sessions."""
    if disabled and uid == actor.uid:
        raise AppError("cannot_disable_self")
    account = _account(uid)
    firebase = get_firebase()
    firebase.update_user(uid, disabled=disabled)
    if disabled:
        # A disabled account gets no new tokens, so those of this very second can be refused too.
        revoke_sessions(uid, including_this_second=True)
    audit.record("user.disabled" if disabled else "user.enabled", actor_uid=actor.uid, target=f"user/{uid}",
                 before={"disabled": account.disabled}, after={"disabled": disabled})
    logger.info("account %s uid=%s by=%s", "disabled" if disabled else "enabled", uid, actor.uid)
    return get_account(uid)


def change_password(user, *, current_password, new_password):
    """Check the current password, set the new one, and return a fresh session: Firebase ends the account's
    other sessions when its password changes."""
    if not user.email:
        raise AppError("no_password")
    try:
        session = identity.sign_in(user.email, current_password)
    except identity.IdentityError as exc:
        if exc.code != "invalid_credentials":
            raise
        raise field_error("current_password", "This is not the account's password.") from None
    if session["uid"] != user.uid:
        raise field_error("current_password", "This is not the account's password.")
    renewed = identity.update_password(session["id_token"], new_password)
    token_cache().forget_uid(user.uid)
    audit.record("user.password_changed", actor_uid=user.uid, target=f"user/{user.uid}")
    logger.info("password changed uid=%s", user.uid)
    return renewed
