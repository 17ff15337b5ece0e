"""The one wrapper of firebase_admin: credentials, Firestore, Auth admin calls, ID tokens, Realtime Database, FCM.

No other module imports firebase_admin. In emulator mode the app is given
anonymous credentials, because the Firestore client otherwise looks for Google
credentials and probes the metadata server.
"""
import contextlib
import logging
import os
from urllib.parse import urlsplit

import cachecontrol
import firebase_admin
import google.auth.credentials
import google.auth.exceptions
import google.auth.transport.requests
import requests
from google.api_core import exceptions as google_exceptions
from google.cloud import firestore as google_firestore
from google.cloud.firestore_v1 import base_client as firestore_base_client
from firebase_admin import auth as fb_auth
from firebase_admin import credentials, exceptions
from firebase_admin import db as fb_rtdb
from firebase_admin import messaging as fb_messaging
from flask import current_app
from google.oauth2 import id_token as google_id_token

logger = logging.getLogger(__name__)

EXTENSION = "firebase"
FCM_API_BASE = "https://fcm.googleapis.com"

UserNotFoundError = fb_auth.UserNotFoundError
FirebaseError = exceptions.FirebaseError

# What an unreachable or overloaded Firestore or Firebase Auth raises.
OUTAGE_ERRORS = (
    google_exceptions.ServiceUnavailable, google_exceptions.DeadlineExceeded, google_exceptions.RetryError,
    exceptions.UnavailableError, exceptions.DeadlineExceededError,
    requests.exceptions.ConnectionError, requests.exceptions.Timeout,
)


def _caused_by(error, kinds):
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, kinds):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


def is_contention(error):
    """Whether a transaction gave up on a lock others held (Firestore answers ABORTED)."""
    return _caused_by(error, google_exceptions.Aborted)


@contextlib.contextmanager
def left_to_concurrent_writer(message, *args):
    """Around one item of a sweep: if its transaction lost to another writer, log ``message`` and go on.

    The library retries an aborted transaction a few times and then raises a
    ValueError chained to the abort (its rollback's own error on top); either
    way the writer that committed, or the sweep's next run, finishes the item.
    """
    try:
        yield
    except Exception as error:
        if not is_contention(error):
            raise
        logger.info(message, *args)


def is_outage(error):
    """Whether the error, or one it was raised from, says a backing service is unreachable.

    A failed transaction surfaces as the rollback's own error, chained to the outage.
    """
    return _caused_by(error, OUTAGE_ERRORS)


# gRPC waits out an exponential backoff (up to two minutes) before a failed
# connection is tried again, and new channels share the failed subchannel, so
# Firestore coming back would go unnoticed for minutes. A short backoff and a
# private subchannel per client let reconnect() recover at once. The client
# builds its channels from these module lists and offers no other way in.
_CHANNEL_OPTIONS = [("grpc.use_local_subchannel_pool", 1), ("grpc.initial_reconnect_backoff_ms", 250),
                    ("grpc.max_reconnect_backoff_ms", 2000)]


def _tune_channels():
    for options in (firestore_base_client._GRPC_MSG_SIZE_OPTIONS, firestore_base_client._DEFAULT_CHANNEL_OPTIONS):
        options.extend(o for o in _CHANNEL_OPTIONS if o not in options)


def _bound_rpc_time(client, seconds):
    """Give every Firestore RPC, retries included, at most ``seconds``.

    The client's defaults retry an unreachable server for 60 s per call (a
    document read measured 290 s against a stopped emulator), far beyond any
    request's patience; bounded, an outage answers 503 while the worker lives.
    The library offers no client-wide setting, so the per-method defaults are
    shortened where the generated transport keeps them.
    """
    for rpc in client._firestore_api._transport._wrapped_methods.values():
        rpc._timeout = seconds
        if rpc._retry is not None:
            rpc._retry = rpc._retry.with_timeout(seconds)


class InvalidIdToken(Exception):
    """The ID token is malformed, wrongly signed, for another project, or expired."""

    def __init__(self, message, expired=False):
        super().__init__(message)
        self.expired = expired


class _EmulatorCredential(credentials.Base):
    def get_credential(self):
        return google.auth.credentials.AnonymousCredentials()


class Messaging:
    """FCM sends through firebase_admin.messaging, with the message types callers build.

    firebase_admin has no setting for FCM's address (the Admin SDKs declined
    one: firebase-admin-java#374, #802), so a stand-in address replaces the
    URL the messaging service built for this app, keeping its request
    building, auth headers and error mapping.
    """

    Message = fb_messaging.Message
    Notification = fb_messaging.Notification
    UnregisteredError = fb_messaging.UnregisteredError
    SenderIdMismatchError = fb_messaging.SenderIdMismatchError
    NotFoundError = exceptions.NotFoundError
    InvalidArgumentError = exceptions.InvalidArgumentError

    def __init__(self, app, api_base):
        self.app = app
        # Set every time: the messaging service lives as long as the firebase_admin app, which
        # apps built with another FCM_API_BASE may share.
        service = fb_messaging._get_messaging_service(app)
        service._fcm_url = f"{(api_base or FCM_API_BASE).rstrip('/')}/v1/projects/{app.project_id}/messages:send"

    def send(self, message):
        return fb_messaging.send(message, app=self.app)


class Firebase:
    def __init__(self, app):
        cfg = app.config
        self.project_id = cfg["FIREBASE_PROJECT_ID"]
        self.emulated = cfg["EMULATED"]
        self.certs_url = cfg["FIREBASE_ID_TOKEN_CERTS_URL"]
        self.issuer = f"https://securetoken.google.com/{self.project_id}"
        self.database_url = _database_url(cfg)
        if self.emulated:
            # firebase_admin and google-cloud-firestore read these from the
            # process environment; config is the source of truth, so mirror it.
            for key in ("FIRESTORE_EMULATOR_HOST", "FIREBASE_AUTH_EMULATOR_HOST"):
                if cfg[key]:
                    os.environ[key] = cfg[key]
        self.app = self._initialize(cfg)
        self.rpc_seconds = cfg["FIRESTORE_TIMEOUT_SECONDS"]
        self.fcm_api_base = cfg["FCM_API_BASE"]
        self._db = None
        self._messaging = None
        # Google's certificates carry Cache-Control; honour it so verification
        # fetches them once per rotation, not per token.
        self._certs_request = google.auth.transport.requests.Request(
            session=cachecontrol.CacheControl(requests.Session())
        )

    def _initialize(self, cfg):
        name = (f"boxoffice:{self.project_id}:{cfg['FIRESTORE_EMULATOR_HOST']}:{cfg['FIREBASE_AUTH_EMULATOR_HOST']}"
                f":{self.database_url}")
        try:
            return firebase_admin.get_app(name)
        except ValueError:
            pass
        if self.emulated:
            credential = _EmulatorCredential()
        elif cfg["FIREBASE_CREDENTIALS"] == "application-default":
            credential = credentials.ApplicationDefault()
        else:
            credential = credentials.Certificate(cfg["FIREBASE_CREDENTIALS"])
        options = {"projectId": self.project_id, "httpTimeout": cfg["FIREBASE_HTTP_TIMEOUT"]}
        if self.database_url:
            options["databaseURL"] = self.database_url
        return firebase_admin.initialize_app(credential, options, name=name)

    @property
    def db(self):
        if self._db is None:
            # Built here, not by firebase_admin.firestore.client(), which caches one
            # client per app for the life of the process and so could not reconnect.
            _tune_channels()
            client = google_firestore.Client(project=self.project_id, credentials=self.app.credential.get_credential())
            _bound_rpc_time(client, self.rpc_seconds)
            self._db = client
        return self._db

    def rtdb(self, path):
        """A Realtime Database reference; only when a database is configured."""
        return fb_rtdb.reference(path, app=self.app)

    @property
    def messaging(self):
        if self._messaging is None:
            self._messaging = Messaging(self.app, self.fcm_api_base)
        return self._messaging

    def reconnect(self):
        """Forget the Firestore client after an outage: the next request opens a fresh channel.

        A gRPC channel that failed waits out an exponential reconnect backoff
        (up to two minutes) before it tries again, so the old one would keep
        answering 503 long after Firestore is back. Requests still holding it
        finish with it.
        """
        self._db = None

    def verify_id_token(self, token):
        """Return the token's claims, or raise InvalidIdToken."""
        if self.emulated:
            # The Auth emulator's tokens are unsigned; firebase_admin accepts
            # them only while FIREBASE_AUTH_EMULATOR_HOST is set.
            try:
                return fb_auth.verify_id_token(token, app=self.app)
            except fb_auth.ExpiredIdTokenError as exc:
                raise InvalidIdToken("The ID token has expired.", expired=True) from exc
            except (fb_auth.InvalidIdTokenError, ValueError) as exc:
                raise InvalidIdToken("The ID token is not valid.") from exc
        return self._verify_signed(token)

    def _verify_signed(self, token):
        # The same checks as firebase_admin's verifier, with the certificate
        # URL taken from config so the signature path can be exercised with a
        # locally generated key.
        try:
            claims = google_id_token.verify_token(
                token, self._certs_request, audience=self.project_id, certs_url=self.certs_url,
                clock_skew_in_seconds=5,
            )
        except (ValueError, google.auth.exceptions.GoogleAuthError) as exc:
            expired = "expired" in str(exc).lower()
            raise InvalidIdToken("The ID token has expired." if expired else "The ID token is not valid.",
                                 expired=expired) from exc
        if claims.get("iss") != self.issuer:
            raise InvalidIdToken("The ID token was issued for another project.")
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub or len(sub) > 128:
            raise InvalidIdToken("The ID token has no valid subject.")
        claims["uid"] = sub
        return claims

    def create_user(self, **fields):
        return fb_auth.create_user(app=self.app, **fields)

    def get_user(self, uid):
        return fb_auth.get_user(uid, app=self.app)

    def get_user_by_email(self, email):
        return fb_auth.get_user_by_email(email, app=self.app)

    def get_user_by_phone_number(self, phone):
        return fb_auth.get_user_by_phone_number(phone, app=self.app)

    def update_user(self, uid, **fields):
        return fb_auth.update_user(uid, app=self.app, **fields)

    def remove_phone_number(self, uid):
        # None means "leave as is" to update_user; DELETE_ATTRIBUTE unlinks the phone provider.
        return fb_auth.update_user(uid, phone_number=fb_auth.DELETE_ATTRIBUTE, app=self.app)

    def delete_user(self, uid):
        fb_auth.delete_user(uid, app=self.app)

    def set_custom_claims(self, uid, claims):
        fb_auth.set_custom_user_claims(uid, claims, app=self.app)

    def revoke_refresh_tokens(self, uid):
        fb_auth.revoke_refresh_tokens(uid, app=self.app)


def _database_url(cfg):
    """The Realtime Database URL, or "" when the live feed is off.

    An emulator is addressed as http://HOST/?ns=NAME, which firebase_admin
    treats like FIREBASE_DATABASE_EMULATOR_HOST (admin credential "owner", the
    ns parameter), without this process's environment having to be changed.
    """
    url, emulator = cfg["FIREBASE_DATABASE_URL"], cfg["FIREBASE_DATABASE_EMULATOR_HOST"]
    if not emulator:
        return url
    host = urlsplit(url).hostname if url else None
    namespace = host.split(".")[0] if host else f"{cfg['FIREBASE_PROJECT_ID']}-default-rtdb"
    return f"http://{emulator}/?ns={namespace}"


def init_app(app):
    app.extensions[EXTENSION] = Firebase(app)


def get_firebase():
    return current_app.extensions[EXTENSION]


def db():
    return get_firebase().db


def rtdb(path):
    return get_firebase().rtdb(path)


def messaging():
    return get_firebase().messaging
