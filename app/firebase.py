"""The one wrapper of firebase_admin: credentials, Firestore, Auth admin calls, ID tokens.

No other module imports firebase_admin. In emulator mode the app is given
anonymous credentials, because the Firestore client otherwise looks for Google
credentials and probes the metadata server.
"""
import logging
import os

import cachecontrol
import firebase_admin
import google.auth.credentials
import google.auth.exceptions
import google.auth.transport.requests
import requests
from firebase_admin import auth as fb_auth
from firebase_admin import credentials, exceptions, firestore
from flask import current_app
from google.oauth2 import id_token as google_id_token

logger = logging.getLogger(__name__)

EXTENSION = "firebase"

UserNotFoundError = fb_auth.UserNotFoundError
FirebaseError = exceptions.FirebaseError


class InvalidIdToken(Exception):
    """The ID token is malformed, wrongly signed, for another project, or expired."""

    def __init__(self, message, expired=False):
        super().__init__(message)
        self.expired = expired


class _EmulatorCredential(credentials.Base):
    def get_credential(self):
        return google.auth.credentials.AnonymousCredentials()


class Firebase:
    def __init__(self, app):
        cfg = app.config
        self.project_id = cfg["FIREBASE_PROJECT_ID"]
        self.emulated = cfg["EMULATED"]
        self.certs_url = cfg["FIREBASE_ID_TOKEN_CERTS_URL"]
        self.issuer = f"https://securetoken.google.com/{self.project_id}"
        if self.emulated:
            # firebase_admin and google-cloud-firestore read these from the
            # process environment; config is the source of truth, so mirror it.
            for key in ("FIRESTORE_EMULATOR_HOST", "FIREBASE_AUTH_EMULATOR_HOST"):
                if cfg[key]:
                    os.environ[key] = cfg[key]
        self.app = self._initialize(cfg)
        self._db = None
        # Google's certificates carry Cache-Control; honour it so verification
        # fetches them once per rotation, not per token.
        self._certs_request = google.auth.transport.requests.Request(
            session=cachecontrol.CacheControl(requests.Session())
        )

    def _initialize(self, cfg):
        name = f"boxoffice:{self.project_id}:{cfg['FIRESTORE_EMULATOR_HOST']}:{cfg['FIREBASE_AUTH_EMULATOR_HOST']}"
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
        return firebase_admin.initialize_app(credential, options, name=name)

    @property
    def db(self):
        if self._db is None:
            self._db = firestore.client(self.app)
        return self._db

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

    def update_user(self, uid, **fields):
        return fb_auth.update_user(uid, app=self.app, **fields)

    def delete_user(self, uid):
        fb_auth.delete_user(uid, app=self.app)

    def set_custom_claims(self, uid, claims):
        fb_auth.set_custom_user_claims(uid, claims, app=self.app)

    def revoke_refresh_tokens(self, uid):
        fb_auth.revoke_refresh_tokens(uid, app=self.app)


def init_app(app):
    app.extensions[EXTENSION] = Firebase(app)


def get_firebase():
    return current_app.extensions[EXTENSION]


def db():
    return get_firebase().db
