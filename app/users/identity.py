"""Firebase's Identity Toolkit and Secure Token REST APIs, for web clients that log in over REST.

The Auth emulator serves the same paths under its own host, so the emulated
and production paths share this code.
"""
import logging

import requests
from flask import current_app

from app.errors import AppError

logger = logging.getLogger(__name__)

_session = requests.Session()

# Identity Toolkit error messages -> (code, message, field)
_ERRORS = {
    "EMAIL_EXISTS": ("email_taken", "An account with this e-mail address already exists.", "email"),
    "WEAK_PASSWORD": ("validation_error", "The password is too weak.", "password"),
    "INVALID_EMAIL": ("validation_error", "The e-mail address is not valid.", "email"),
    "MISSING_PASSWORD": ("validation_error", "A password is required.", "password"),
    "INVALID_LOGIN_CREDENTIALS": ("invalid_credentials", "The e-mail address or password is wrong.", None),
    "EMAIL_NOT_FOUND": ("invalid_credentials", "The e-mail address or password is wrong.", None),
    "INVALID_PASSWORD": ("invalid_credentials", "The e-mail address or password is wrong.", None),
    "USER_DISABLED": ("user_disabled", "This account is disabled.", None),
    "TOO_MANY_ATTEMPTS_TRY_LATER": ("rate_limited", "Too many attempts; try again later.", None),
    "TOKEN_EXPIRED": ("invalid_refresh_token", "The refresh token is no longer valid; log in again.", None),
    "INVALID_REFRESH_TOKEN": ("invalid_refresh_token", "The refresh token is not valid; log in again.", None),
    "USER_NOT_FOUND": ("invalid_refresh_token", "The refresh token is not valid; log in again.", None),
    "INVALID_GRANT_TYPE": ("invalid_refresh_token", "The refresh token is not valid; log in again.", None),
    "MISSING_REFRESH_TOKEN": ("invalid_refresh_token", "The refresh token is not valid; log in again.", None),
}

# Phone verification (accounts:sendVerificationCode, accounts:signInWithPhoneNumber)
_PHONE_ERRORS = {
    "INVALID_PHONE_NUMBER": ("validation_error", "Firebase does not accept this phone number.", "phone"),
    "MISSING_PHONE_NUMBER": ("validation_error", "A phone number is required.", "phone"),
    "CAPTCHA_CHECK_FAILED": ("validation_error", "The reCAPTCHA token was refused.", "recaptcha_token"),
    "INVALID_RECAPTCHA_TOKEN": ("validation_error", "The reCAPTCHA token was refused.", "recaptcha_token"),
    "MISSING_RECAPTCHA_TOKEN": ("validation_error", "This project needs a reCAPTCHA token.", "recaptcha_token"),
    "QUOTA_EXCEEDED": ("sms_limit_reached", "Firebase's SMS quota for this project is used up.", None),
    "INVALID_CODE": ("invalid_verification_code", "The verification code is wrong.", None),
    "MISSING_CODE": ("invalid_verification_code", "The verification code is wrong.", None),
    "INVALID_SESSION_INFO": ("verification_expired", None, None),
    "MISSING_SESSION_INFO": ("verification_expired", None, None),
    "SESSION_EXPIRED": ("verification_expired", None, None),
    "CODE_EXPIRED": ("verification_expired", None, None),
    "INVALID_ID_TOKEN": ("invalid_token", "The ID token is not valid; log in again.", None),
    "TOKEN_EXPIRED": ("token_expired", "The ID token has expired; log in again.", None),
    "USER_DISABLED": ("user_disabled", "This account is disabled.", None),
}


class IdentityError(AppError):
    """An Identity Toolkit refusal, with Firebase's own reason kept for callers that care."""

    def __init__(self, reason, code, message=None, details=None):
        super().__init__(code, message, details=details)
        self.reason = reason


def _hosts():
    emulator = current_app.config["FIREBASE_AUTH_EMULATOR_HOST"]
    if emulator:
        return (f"http://{emulator}/identitytoolkit.googleapis.com/v1",
                f"http://{emulator}/securetoken.googleapis.com/v1")
    return "https://identitytoolkit.googleapis.com/v1", "https://securetoken.googleapis.com/v1"


def _post(url, payload, errors=_ERRORS):
    params = {"key": current_app.config["FIREBASE_WEB_API_KEY"]}
    try:
        response = _session.post(url, params=params, json=payload,
                                 timeout=current_app.config["FIREBASE_HTTP_TIMEOUT"])
    except requests.RequestException as exc:
        logger.error("identity service unreachable: %s", type(exc).__name__)
        raise AppError("auth_unavailable", "The identity service is unreachable.") from exc
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.ok:
        return body
    raw = (body.get("error") or {}).get("message", "")
    reason = raw.split(" ", 1)[0].split(":", 1)[0].strip()
    if reason not in errors:
        logger.error("identity service refused with %s (%s)", response.status_code, reason or "no reason")
        raise IdentityError(reason, "auth_upstream_error")
    code, message, field = errors[reason]
    details = {"fields": {field: [message]}} if field and code == "validation_error" else {}
    raise IdentityError(reason, code, message, details)


def _session_from_toolkit(body):
    return {
        "uid": body["localId"],
        "id_token": body["idToken"],
        "refresh_token": body["refreshToken"],
        "expires_in": int(body["expiresIn"]),
    }


def sign_up(email, password):
    toolkit, _ = _hosts()
    body = _post(f"{toolkit}/accounts:signUp", {"email": email, "password": password, "returnSecureToken": True})
    return _session_from_toolkit(body)


def sign_in(email, password):
    toolkit, _ = _hosts()
    body = _post(f"{toolkit}/accounts:signInWithPassword",
                 {"email": email, "password": password, "returnSecureToken": True})
    return _session_from_toolkit(body)


def exchange_refresh_token(refresh_token):
    _, securetoken = _hosts()
    body = _post(f"{securetoken}/token", {"grant_type": "refresh_token", "refresh_token": refresh_token})
    return {
        "uid": body["user_id"],
        "id_token": body["id_token"],
        "refresh_token": body["refresh_token"],
        "expires_in": int(body["expires_in"]),
    }


def update_password(id_token, password):
    """Set the password of the ID token's account; returns the new session Firebase hands out with it."""
    toolkit, _ = _hosts()
    return _session_from_toolkit(_post(f"{toolkit}/accounts:update",
                                       {"idToken": id_token, "password": password, "returnSecureToken": True}))


def send_password_reset(email):
    toolkit, _ = _hosts()
    _post(f"{toolkit}/accounts:sendOobCode", {"requestType": "PASSWORD_RESET", "email": email})


def send_phone_code(phone, *, recaptcha_token=None):
    """Have Firebase text a verification code to ``phone``; returns the session that the code confirms."""
    toolkit, _ = _hosts()
    payload = {"phoneNumber": phone}
    if recaptcha_token:
        payload["recaptchaToken"] = recaptcha_token
    return _post(f"{toolkit}/accounts:sendVerificationCode", payload, _PHONE_ERRORS)["sessionInfo"]


def link_phone(id_token, session_info, code):
    """Attach the number the code was sent to to the ID token's account; returns the number.

    Firebase answers a number that belongs to another account with a
    ``temporaryProof`` instead of linking it: that is the duplicate case.
    """
    toolkit, _ = _hosts()
    body = _post(f"{toolkit}/accounts:signInWithPhoneNumber",
                 {"idToken": id_token, "sessionInfo": session_info, "code": code}, _PHONE_ERRORS)
    if body.get("temporaryProof"):
        raise IdentityError("PHONE_NUMBER_EXISTS", "phone_taken")
    return body["phoneNumber"]
