"""Bearer ID-token verification, ``g.user`` and the role decorators.

Verified claims are cached in-process until the token's ``exp``: a warm
authenticated request costs a dictionary look-up, not a signature check.
Tokens of a revoked session (a role change, an erased account) are refused
by every worker within ``REVOCATION_POLL_SECONDS`` (app.revocations).
"""
import copy
import functools
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from enum import StrEnum

from flask import current_app, g, request
from flask.sessions import SessionInterface

from app.errors import AppError
from app.firebase import InvalidIdToken, get_firebase
from app.revocations import revocation_list

EXTENSION = "token_cache"
BEARER_DOC = {"security": [{"bearerAuth": []}]}


class Role(StrEnum):
    CUSTOMER = "customer"
    ORGANIZER = "organizer"
    STAFF = "staff"
    ADMIN = "admin"


@dataclass(frozen=True)
class CurrentUser:
    uid: str
    email: str | None
    role: Role
    email_verified: bool = False
    claims: dict = field(default_factory=dict, repr=False)

    def has_role(self, *roles):
        return self.role in roles


class TokenCache:
    """Verified claims by token, each kept until the token expires."""

    def __init__(self, max_entries=10_000):
        self.max_entries = max_entries
        self._entries = OrderedDict()
        self._lock = threading.Lock()

    def get(self, token):
        with self._lock:
            entry = self._entries.get(token)
            if entry is None:
                return None
            if entry["exp"] <= time.time():
                del self._entries[token]
                return None
            self._entries.move_to_end(token)
            return entry

    def put(self, token, claims):
        with self._lock:
            self._entries[token] = claims
            self._entries.move_to_end(token)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def forget_uid(self, uid):
        with self._lock:
            for token in [t for t, c in self._entries.items() if c.get("uid") == uid]:
                del self._entries[token]


class NoSessions(SessionInterface):
    """The API keeps no session: who calls is the bearer token of each request. Flask's default cookie
    session would build a signing serializer for every request to find that out."""

    def open_session(self, app, request):
        return self.make_null_session(app)

    def save_session(self, app, session, response):
        return None


def init_app(app):
    app.extensions[EXTENSION] = TokenCache()
    app.session_interface = NoSessions()


def token_cache():
    return current_app.extensions[EXTENSION]


def _unauthorized(code, message=None):
    return AppError(code, message)


def verify_token(token):
    cache = token_cache()
    claims = cache.get(token)
    if claims is None:
        try:
            claims = get_firebase().verify_id_token(token)
        except InvalidIdToken as exc:
            raise _unauthorized("token_expired" if exc.expired else "invalid_token", str(exc)) from exc
        if claims.get("exp", 0) <= time.time():
            raise _unauthorized("token_expired")
        cache.put(token, claims)
    if revocation_list().is_revoked(claims):
        raise _unauthorized("token_revoked")
    return claims


def bearer_token():
    """The request's raw ID token, or None; a malformed Authorization header is a 401."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        return None
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("invalid_token", "The Authorization header must be 'Bearer <Firebase ID token>'.")
    return token.strip()


def user_from_claims(claims):
    try:
        role = Role(claims.get("role", Role.CUSTOMER))
    except ValueError:
        role = Role.CUSTOMER
    return CurrentUser(uid=claims["uid"], email=claims.get("email"), role=role,
                       email_verified=bool(claims.get("email_verified")), claims=claims)


def load_user():
    """Set ``g.user`` from the Authorization header, or None when there is none."""
    if "user" not in g:
        token = bearer_token()
        g.user = user_from_claims(verify_token(token)) if token else None
    return g.user


def _documented(wrapper):
    doc = copy.deepcopy(getattr(wrapper, "_apidoc", {}))
    manual = doc.setdefault("manual_doc", {})
    manual.update(BEARER_DOC)
    wrapper._apidoc = doc
    return wrapper


def login_required(view):
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if load_user() is None:
            raise _unauthorized("missing_token")
        return view(*args, **kwargs)

    return _documented(wrapper)


def roles_required(*roles):
    allowed = {Role(r) for r in roles}

    def decorator(view):
        @functools.wraps(view)
        @login_required
        def wrapper(*args, **kwargs):
            if g.user.role not in allowed:
                raise AppError("forbidden", "Your role does not allow this.",
                               details={"required": sorted(allowed)})
            return view(*args, **kwargs)

        return _documented(wrapper)

    return decorator


def optional_login(view):
    """Identify the caller when a token is sent; anonymous callers are let through."""
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        load_user()
        return view(*args, **kwargs)

    return wrapper
