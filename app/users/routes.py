from flask import current_app, g
from flask_smorest import Blueprint
from marshmallow import RAISE

from app.auth import bearer_token, login_required, roles_required
from app.extensions import limiter
from app.users import accounts, phones, service
from app.users.schemas import (AccountQuery, DeviceIn, DeviceOut, LoginIn, PasswordChangeIn,
                               PasswordResetIn, PhoneIn, PhoneOut, PhoneVerificationOut, PhoneVerifyIn, ProfileOut,
                               ProfilePatch, RefreshIn, RegisterIn, RoleIn, RoleOut, SessionOut, UserAccountOut)

blp = Blueprint("users", __name__, url_prefix="/api/v1", description="Accounts, sessions and profiles")


def _auth_limit():
    return current_app.config["RATELIMIT_AUTH"]


@blp.route("/auth/register", methods=["POST"])
@limiter.limit(_auth_limit)
@blp.arguments(RegisterIn)
@blp.response(201, SessionOut)
def register(data):
    """Create an account with e-mail and password and return a session"""
    return service.register_user(data["email"], data["password"], display_name=data.get("display_name"))


@blp.route("/auth/login", methods=["POST"])
@limiter.limit(_auth_limit)
@blp.arguments(LoginIn)
@blp.response(200, SessionOut)
def login(data):
    """Exchange e-mail and password for a session"""
    return service.log_in(data["email"], data["password"])


@blp.route("/auth/refresh", methods=["POST"])
@limiter.limit(_auth_limit)
@blp.arguments(RefreshIn)
@blp.response(200, SessionOut)
def refresh(data):
    """Exchange a refresh token for a new ID token"""
    return service.refresh_session(data["refresh_token"])


@blp.route("/auth/password-reset", methods=["POST"])
@limiter.limit(_auth_limit)
@blp.arguments(PasswordResetIn)
@blp.response(204)
def password_reset(data):
    """Send a password-reset e-mail; answers the same whether or not the address has an account"""
    service.request_password_reset(data["email"])


@blp.route("/auth/me", methods=["GET"])
@login_required
@blp.response(200, ProfileOut)
def get_me():
    """The caller's profile and role"""
    return service.get_profile(g.user)


@blp.route("/users/me", methods=["PATCH"])
@login_required
@blp.arguments(ProfilePatch)
@blp.response(200, ProfileOut)
def update_me(data):
    """Change the caller's display name or locale (a phone number is verified through /users/me/phone)"""
    return service.update_profile(g.user, **data)


@blp.route("/users/me", methods=["DELETE"])
@login_required
@blp.response(204)
def delete_me():
    """Erase the caller's personal data and account"""
    service.erase_user(g.user.uid)


@blp.route("/users/me/devices", methods=["POST"])
@login_required
@blp.arguments(DeviceIn)
@blp.response(201, DeviceOut)
def register_device(data):
    """Register an FCM token for push notifications"""
    return service.register_device(g.user.uid, data["token"], platform=data["platform"])


@blp.route("/users/me/devices/<device_id>", methods=["DELETE"])
@login_required
@blp.response(204)
def delete_device(device_id):
    """Forget a device (for example on log-out)"""
    service.remove_device(g.user.uid, device_id)


@blp.route("/users/me/phone", methods=["GET"])
@login_required
@blp.response(200, PhoneOut)
def get_phone():
    """The caller's verified phone number, the only one text messages go to"""
    return phones.get_phone(g.user.uid)


@blp.route("/users/me/phone", methods=["POST"])
@limiter.limit(_auth_limit)
@login_required
@blp.arguments(PhoneIn)
@blp.response(202, PhoneVerificationOut)
def request_phone_verification(data):
    """Text a verification code to a number (E.164); confirm it with /users/me/phone/verify"""
    return phones.request_phone_verification(g.user, data["phone"], recaptcha_token=data.get("recaptcha_token"))


@blp.route("/users/me/phone/verify", methods=["POST"])
@limiter.limit(_auth_limit)
@login_required
@blp.arguments(PhoneVerifyIn)
@blp.response(200, PhoneOut)
def verify_phone(data):
    """Confirm the code: the number becomes the caller's, unless another account holds it"""
    return phones.confirm_phone(g.user, bearer_token(), data["verification_id"], data["code"])


@blp.route("/users/me/phone", methods=["DELETE"])
@login_required
@blp.response(204)
def delete_phone():
    """Remove the caller's phone number: no more text messages"""
    phones.remove_phone(g.user)


@blp.route("/admin/users/<uid>/role", methods=["PUT"])
@roles_required("admin")
@blp.arguments(RoleIn)
@blp.response(200, RoleOut)
def set_role(data, uid):
    """Change a user's role; their refresh tokens are revoked so the new claims take effect"""
    return service.set_role(uid, data["role"], actor_uid=g.user.uid)


@blp.route("/users/me/account", methods=["GET"])
@login_required
@blp.response(200, UserAccountOut)
def get_my_account():
    """The caller's Firebase account: when it was created, last signed in and last refreshed a token"""
    return accounts.get_account(g.user.uid)


@blp.route("/users/me/password", methods=["POST"])
@limiter.limit(_auth_limit)
@login_required
@blp.arguments(PasswordChangeIn)
@blp.response(200, SessionOut)
def change_password(data):
    """Change the caller's password (the current one is checked); returns a fresh session, and Firebase ends
    the account's other sessions"""
    return accounts.change_password(g.user, **data)


@blp.route("/admin/users", methods=["GET"])
@roles_required("admin")
@blp.arguments(AccountQuery, location="query", unknown=RAISE)
@blp.response(200, UserAccountOut)
def find_user(args):
    """Find an account by e-mail address (admin)"""
    return accounts.find_account(args["email"])


@blp.route("/admin/users/<uid>", methods=["GET"])
@roles_required("admin")
@blp.response(200, UserAccountOut)
def get_user(uid):
    """An account: role, whether it is disabled, its sign-in times (admin)"""
    return accounts.get_account(uid)


@blp.route("/admin/users/<uid>/disable", methods=["POST"])
@roles_required("admin")
@blp.response(200, UserAccountOut)
def disable_user(uid):
    """Disable an account: it can no longer sign in, and its refresh tokens are revoked (admin)"""
    return accounts.set_disabled(uid, g.user, disabled=True)


@blp.route("/admin/users/<uid>/enable", methods=["POST"])
@roles_required("admin")
@blp.response(200, UserAccountOut)
def enable_user(uid):
    """Let a disabled account sign in again (admin)"""
    return accounts.set_disabled(uid, g.user, disabled=False)
