"""Configuration: the only module that reads the environment.

Each config class reads ``os.environ`` (after loading ``.env``) when it is
instantiated, so ``create_app`` sees the environment as it is at start-up and
tests can build apps with their own values.
"""
import os
import re
from pathlib import Path

from dotenv import load_dotenv

ROOT = Path(__file__).resolve().parent.parent

GOOGLE_ID_TOKEN_CERTS_URL = (
    "https://www.googleapis.com/robot/v1/metadata/x509/securetoken@system.gserviceaccount.com"
)


class ConfigError(RuntimeError):
    """The configuration cannot be used to start the app."""


def _bool(value, default=False):
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _country_caps(raw):
    """``+1:5000,+44:500,*:200`` -> {"+1": 5000, "+44": 500, "*": 200}; ``*`` is every other destination."""
    caps = {}
    for part in filter(None, (p.strip() for p in raw.split(","))):
        prefix, _, number = part.partition(":")
        prefix = prefix.strip()
        if not (prefix == "*" or re.fullmatch(r"\+[1-9][0-9]{0,6}", prefix)) or not number.strip().isdigit():
            raise ConfigError(f"SMS_COUNTRY_DAILY_CAPS: {part!r} is not '+<digits>:<count>' or '*:<count>'")
        caps[prefix] = int(number)
    return caps


def _int(environ, key, default):
    raw = environ.get(key)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{key} must be a whole number, got {raw!r}") from exc


class Config:
    ENV_NAME = "base"
    DEBUG = False
    TESTING = False
    LOG_FORMAT_DEFAULT = "color"
    HSTS_SECONDS_DEFAULT = 0
    PUSH_CHANNEL_DEFAULT = "console"
    SMS_CHANNEL_DEFAULT = "console"

    def __init__(self, environ=None, **overrides):
        if environ is None:
            load_dotenv(ROOT / ".env")
            environ = os.environ

        def env(key, default=""):
            value = environ.get(key)
            return default if value in (None, "") else value

        self.SECRET_KEY = env("SECRET_KEY", "")
        self.API_HOST = env("API_HOST", "127.0.0.1")
        self.API_PORT = _int(environ, "API_PORT", 5000)

        self.FIREBASE_PROJECT_ID = env("FIREBASE_PROJECT_ID", "")
        self.FIREBASE_CREDENTIALS = env("FIREBASE_CREDENTIALS", "")
        self.FIREBASE_WEB_API_KEY = env("FIREBASE_WEB_API_KEY", "")
        self.FIREBASE_ID_TOKEN_CERTS_URL = env("FIREBASE_ID_TOKEN_CERTS_URL", GOOGLE_ID_TOKEN_CERTS_URL)
        self.FIRESTORE_EMULATOR_HOST = env("FIRESTORE_EMULATOR_HOST", "")
        self.FIREBASE_AUTH_EMULATOR_HOST = env("FIREBASE_AUTH_EMULATOR_HOST", "")
        # Every *_EMULATOR_HOST in the environment, so production can refuse
        # any of them, including ones this app does not use itself.
        self.EMULATOR_HOSTS = {k: v for k, v in environ.items() if k.endswith("_EMULATOR_HOST") and v}
        self.FIREBASE_HTTP_TIMEOUT = _int(environ, "FIREBASE_HTTP_TIMEOUT", 10)
        # How stale each process's copy of revoked sessions may get (app/revocations.py).
        self.REVOCATION_POLL_SECONDS = _int(environ, "REVOCATION_POLL_SECONDS", 5)
        # The live feed (app/livefeed) is on when either is set; with only the emulator host, the
        # project's default database name is used as the emulator namespace.
        self.FIREBASE_DATABASE_URL = env("FIREBASE_DATABASE_URL", "")
        self.FIREBASE_DATABASE_EMULATOR_HOST = env("FIREBASE_DATABASE_EMULATOR_HOST", "")
        self.LIVE_FEED_INTERVAL_MS = _int(environ, "LIVE_FEED_INTERVAL_MS", 1000)

        self.REDIS_URL = env("REDIS_URL", "")
        self.RATELIMIT_ENABLED = _bool(env("RATELIMIT_ENABLED"), True)
        self.RATELIMIT_DEFAULT = env("RATELIMIT_DEFAULT", "600 per minute")
        self.RATELIMIT_AUTH = env("RATELIMIT_AUTH", "10 per minute")
        self.RATELIMIT_CHECKIN = env("RATELIMIT_CHECKIN", "600 per minute")
        self.RATELIMIT_STORAGE_URI = self.REDIS_URL or "memory://"
        self.RATELIMIT_HEADERS_ENABLED = True
        self.RATELIMIT_KEY_PREFIX = "boxoffice-limits"
        self.TRUSTED_PROXIES = _int(environ, "TRUSTED_PROXIES", 0)

        self.CACHE_TYPE = "RedisCache" if self.REDIS_URL else "SimpleCache"
        self.CACHE_REDIS_URL = self.REDIS_URL
        self.CACHE_KEY_PREFIX = "boxoffice-cache:"
        self.CACHE_DEFAULT_TIMEOUT = _int(environ, "CACHE_DEFAULT_TIMEOUT", 60)

        self.MAX_CONTENT_LENGTH = _int(environ, "MAX_BODY_BYTES", 1024 * 1024)
        self.CORS_ORIGINS = [o.strip() for o in env("CORS_ORIGINS", "").split(",") if o.strip()]
        self.HSTS_SECONDS = _int(environ, "HSTS_SECONDS", self.HSTS_SECONDS_DEFAULT)
        self.FIRESTORE_TIMEOUT_SECONDS = _int(environ, "FIRESTORE_TIMEOUT_SECONDS", 10)

        self.LOG_LEVEL = env("LOG_LEVEL", "INFO").upper()
        self.LOG_FORMAT = env("LOG_FORMAT", self.LOG_FORMAT_DEFAULT)
        self.LOG_DIR = env("LOG_DIR", str(ROOT / "logs"))
        self.SLOW_REQUEST_MS = _int(environ, "SLOW_REQUEST_MS", 500)

        self.HOLD_TTL_SECONDS = _int(environ, "HOLD_TTL_SECONDS", 600)
        self.MAX_ACTIVE_HOLDS_PER_EVENT = _int(environ, "MAX_ACTIVE_HOLDS_PER_EVENT", 3)
        # Lanes across hosts (app/inventory/lanes.py): a gunicorn worker's lane lease lasts this long; 0: off.
        self.LANE_LEASE_SECONDS = _int(environ, "LANE_LEASE_SECONDS", 30)
        self.PAYMENT_TTL_SECONDS = _int(environ, "PAYMENT_TTL_SECONDS", 900)
        # Tries with discount codes that do not exist, per window (app/orders/discount_guesses.py).
        self.DISCOUNT_GUESSES_PER_BUYER = _int(environ, "DISCOUNT_GUESSES_PER_BUYER", 10)
        self.DISCOUNT_GUESSES_PER_EVENT = _int(environ, "DISCOUNT_GUESSES_PER_EVENT", 200)
        self.DISCOUNT_GUESS_WINDOW_SECONDS = _int(environ, "DISCOUNT_GUESS_WINDOW_SECONDS", 900)
        self.CHECKIN_OPENS_MINUTES_BEFORE_START = _int(environ, "CHECKIN_OPENS_MINUTES_BEFORE_START", 240)
        # Concessions (app/concessions): a stand order nobody accepts within this many seconds of being paid
        # (or of its event's start, when ordered ahead) is cancelled and refunded.
        self.CONCESSION_ACCEPT_TIMEOUT_SECONDS = _int(environ, "CONCESSION_ACCEPT_TIMEOUT_SECONDS", 900)
        # Parking (app/parking): quotes, windows, drive-up sessions, entry and reminders.
        self.PARKING_QUOTE_TTL_SECONDS = _int(environ, "PARKING_QUOTE_TTL_SECONDS", 300)
        self.PARKING_MAX_WINDOW_HOURS = _int(environ, "PARKING_MAX_WINDOW_HOURS", 24)
        self.PARKING_BOOKING_HORIZON_DAYS = _int(environ, "PARKING_BOOKING_HORIZON_DAYS", 365)
        self.PARKING_SESSION_HOURS = _int(environ, "PARKING_SESSION_HOURS", 12)
        self.PARKING_ENTRY_EARLY_MINUTES = _int(environ, "PARKING_ENTRY_EARLY_MINUTES", 60)
        self.PARKING_REMINDER_MINUTES = _int(environ, "PARKING_REMINDER_MINUTES", 30)
        self.STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY", "")
        self.STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", "")
        self.STRIPE_API_BASE = env("STRIPE_API_BASE", "https://api.stripe.com")
        self.STRIPE_CONNECT_WEBHOOK_SECRET = env("STRIPE_CONNECT_WEBHOOK_SECRET", "")
        # Refunds (app/orders/refund_queue.py) are sent by the scheduler until the provider confirms them.
        self.REFUND_MAX_ATTEMPTS = _int(environ, "REFUND_MAX_ATTEMPTS", 8)
        self.REFUND_BACKOFF_SECONDS = _int(environ, "REFUND_BACKOFF_SECONDS", 60)
        self.REFUND_BACKOFF_MAX_SECONDS = _int(environ, "REFUND_BACKOFF_MAX_SECONDS", 3600)
        # Payouts (app/payouts): the default platform fee, and transfers sent by the scheduler like refunds.
        self.PAYOUT_FEE_BASIS_POINTS = _int(environ, "PAYOUT_FEE_BASIS_POINTS", 500)
        self.PAYOUT_FEE_FIXED = _int(environ, "PAYOUT_FEE_FIXED", 0)
        self.PAYOUT_REFUND_PLATFORM_FEE = _bool(env("PAYOUT_REFUND_PLATFORM_FEE"), True)
        self.PAYOUT_MAX_ATTEMPTS = _int(environ, "PAYOUT_MAX_ATTEMPTS", 8)
        self.PAYOUT_BACKOFF_SECONDS = _int(environ, "PAYOUT_BACKOFF_SECONDS", 60)
        self.PAYOUT_BACKOFF_MAX_SECONDS = _int(environ, "PAYOUT_BACKOFF_MAX_SECONDS", 3600)

        # Reports (app/reports): counter documents per event and day, and documents per page of a CSV export.
        self.SALES_COUNTER_SHARDS = _int(environ, "SALES_COUNTER_SHARDS", 4)
        self.EXPORT_PAGE_SIZE = _int(environ, "EXPORT_PAGE_SIZE", 500)

        self.PROMETHEUS_MULTIPROC_DIR = env("PROMETHEUS_MULTIPROC_DIR", "")
        # Empty: /metrics answers anyone (keep it on an internal network); set: only this bearer token.
        self.METRICS_TOKEN = env("METRICS_TOKEN", "")
        self.READINESS_CACHE_SECONDS = _int(environ, "READINESS_CACHE_SECONDS", 5)

        self.SCHEDULER_HEARTBEAT_SECONDS = _int(environ, "SCHEDULER_HEARTBEAT_SECONDS", 10)

        # Notifications (app/notifications): e-mail over SMTP, push over FCM; `console` logs instead.
        self.SMTP_HOST = env("SMTP_HOST", "")
        self.SMTP_PORT = _int(environ, "SMTP_PORT", 587)
        self.SMTP_USER = env("SMTP_USER", "")
        self.SMTP_PASSWORD = env("SMTP_PASSWORD", "")
        self.SMTP_SECURITY = env("SMTP_SECURITY", "starttls")
        self.SMTP_FROM = env("SMTP_FROM", "Boxoffice <no-reply@boxoffice.invalid>")
        self.SMTP_TIMEOUT_SECONDS = _int(environ, "SMTP_TIMEOUT_SECONDS", 10)
        self.EMAIL_CHANNEL = env("EMAIL_CHANNEL", "smtp" if self.SMTP_HOST else "console")
        self.PUSH_CHANNEL = env("PUSH_CHANNEL", self.PUSH_CHANNEL_DEFAULT)
        self.FCM_API_BASE = env("FCM_API_BASE", "")
        self.OUTBOX_MAX_ATTEMPTS = _int(environ, "OUTBOX_MAX_ATTEMPTS", 6)
        self.OUTBOX_BACKOFF_SECONDS = _int(environ, "OUTBOX_BACKOFF_SECONDS", 60)
        self.OUTBOX_BACKOFF_MAX_SECONDS = _int(environ, "OUTBOX_BACKOFF_MAX_SECONDS", 3600)
        self.OUTBOX_LEASE_SECONDS = _int(environ, "OUTBOX_LEASE_SECONDS", 120)
        self.OUTBOX_DELIVERY_SECONDS = _int(environ, "OUTBOX_DELIVERY_SECONDS", 15)
        # SMS through Twilio (app/notifications/sms.py); `console` logs instead, `off` sends none.
        self.TWILIO_ACCOUNT_SID = env("TWILIO_ACCOUNT_SID", "")
        self.TWILIO_AUTH_TOKEN = env("TWILIO_AUTH_TOKEN", "")
        self.TWILIO_FROM = env("TWILIO_FROM", "")
        self.TWILIO_API_BASE = env("TWILIO_API_BASE", "https://api.twilio.com")
        self.TWILIO_TIMEOUT_SECONDS = _int(environ, "TWILIO_TIMEOUT_SECONDS", 10)
        self.SMS_CHANNEL = env("SMS_CHANNEL", "twilio" if self.TWILIO_ACCOUNT_SID else self.SMS_CHANNEL_DEFAULT)
        self.SMS_WEBHOOK_BASE_URL = env("SMS_WEBHOOK_BASE_URL", "").rstrip("/")
        self.SMS_ACCOUNT_DAILY_LIMIT = _int(environ, "SMS_ACCOUNT_DAILY_LIMIT", 10)
        self.SMS_NUMBER_DAILY_LIMIT = _int(environ, "SMS_NUMBER_DAILY_LIMIT", 10)
        self.SMS_COUNTRY_DAILY_CAPS = _country_caps(env("SMS_COUNTRY_DAILY_CAPS", "*:1000"))

        self.API_TITLE = "Boxoffice"
        self.API_VERSION = "v1"
        self.OPENAPI_VERSION = "3.0.3"
        self.OPENAPI_URL_PREFIX = "/api/v1"
        self.OPENAPI_JSON_PATH = "openapi.json"
        self.OPENAPI_SWAGGER_UI_PATH = "/docs"
        # Swagger UI's files are served by the app itself (app/docs), so the docs work offline.
        self.OPENAPI_SWAGGER_UI_URL = "/api/v1/docs/assets/"

        for key, value in overrides.items():
            setattr(self, key, value)

    @property
    def EMULATED(self):
        return bool(self.FIRESTORE_EMULATOR_HOST or self.FIREBASE_AUTH_EMULATOR_HOST)

    def validate(self):
        if not self.FIREBASE_PROJECT_ID:
            raise ConfigError("FIREBASE_PROJECT_ID is required")
        if not 1 <= self.SALES_COUNTER_SHARDS <= 64:
            raise ConfigError("SALES_COUNTER_SHARDS must be between 1 and 64")
        if not 1 <= self.EXPORT_PAGE_SIZE <= 1000:
            raise ConfigError("EXPORT_PAGE_SIZE must be between 1 and 1000")
        if self.LOG_FORMAT not in {"json", "color"}:
            raise ConfigError("LOG_FORMAT must be json or color")
        if self.EMAIL_CHANNEL not in {"smtp", "console"}:
            raise ConfigError("EMAIL_CHANNEL must be smtp or console")
        if self.EMAIL_CHANNEL == "smtp" and not self.SMTP_HOST:
            raise ConfigError("EMAIL_CHANNEL=smtp needs SMTP_HOST")
        if self.SMTP_SECURITY not in {"starttls", "ssl", "none"}:
            raise ConfigError("SMTP_SECURITY must be starttls, ssl or none")
        if self.PUSH_CHANNEL not in {"fcm", "console"}:
            raise ConfigError("PUSH_CHANNEL must be fcm or console")
        if self.SMS_CHANNEL not in {"twilio", "console", "off"}:
            raise ConfigError("SMS_CHANNEL must be twilio, console or off")
        if self.SMS_CHANNEL == "twilio":
            if not re.fullmatch(r"AC[0-9a-f]{32}", self.TWILIO_ACCOUNT_SID):
                raise ConfigError("SMS_CHANNEL=twilio needs TWILIO_ACCOUNT_SID (AC followed by 32 hex digits)")
            if not self.TWILIO_AUTH_TOKEN:
                raise ConfigError("SMS_CHANNEL=twilio needs TWILIO_AUTH_TOKEN")
            if not re.fullmatch(r"\+[1-9][0-9]{6,14}|MG[0-9a-f]{32}", self.TWILIO_FROM):
                raise ConfigError("SMS_CHANNEL=twilio needs TWILIO_FROM: a number in E.164 or a Messaging Service SID")
        if not 0 <= self.PAYOUT_FEE_BASIS_POINTS <= 10_000 or self.PAYOUT_FEE_FIXED < 0:
            raise ConfigError("PAYOUT_FEE_BASIS_POINTS must be 0 to 10000 and PAYOUT_FEE_FIXED at least 0")


class DevelopmentConfig(Config):
    ENV_NAME = "development"
    DEBUG = True

    def __init__(self, environ=None, **overrides):
        super().__init__(environ, **overrides)
        self.FIREBASE_PROJECT_ID = self.FIREBASE_PROJECT_ID or "demo-boxoffice"
        self.FIREBASE_WEB_API_KEY = self.FIREBASE_WEB_API_KEY or "demo-key"
        self.SECRET_KEY = self.SECRET_KEY or "development-only-secret"


class TestingConfig(DevelopmentConfig):
    ENV_NAME = "testing"
    DEBUG = False
    TESTING = True

    def __init__(self, environ=None, **overrides):
        overrides.setdefault("RATELIMIT_ENABLED", False)
        overrides.setdefault("LANE_LEASE_SECONDS", 0)
        overrides.setdefault("CACHE_TYPE", "NullCache")
        overrides.setdefault("CACHE_NO_NULL_WARNING", True)
        super().__init__(environ, **overrides)


class ProductionConfig(Config):
    ENV_NAME = "production"
    LOG_FORMAT_DEFAULT = "json"
    HSTS_SECONDS_DEFAULT = 31536000
    PUSH_CHANNEL_DEFAULT = "fcm"
    # Without Twilio credentials production sends no SMS rather than logging them.
    SMS_CHANNEL_DEFAULT = "off"

    def validate(self):
        super().validate()
        if self.SMS_CHANNEL == "console":
            raise ConfigError("SMS_CHANNEL=console only logs text messages; use twilio or off in production")
        if self.SMS_CHANNEL == "twilio":
            if not self.TWILIO_API_BASE.startswith("https://"):
                raise ConfigError("TWILIO_API_BASE must be an https:// address in production")
            # Status callbacks go to this address and inbound signatures are checked against it.
            if not self.SMS_WEBHOOK_BASE_URL.startswith("https://"):
                raise ConfigError("SMS_CHANNEL=twilio needs SMS_WEBHOOK_BASE_URL, the API's public https:// address")
        if self.EMULATOR_HOSTS:
            # Emulator ID tokens are unsigned; honouring them would let anyone in.
            raise ConfigError(
                "production refuses to start with emulator settings: " + ", ".join(sorted(self.EMULATOR_HOSTS))
            )
        if not self.FIREBASE_CREDENTIALS:
            raise ConfigError(
                "FIREBASE_CREDENTIALS is required: a service-account JSON file, or 'application-default'"
            )
        if self.FIREBASE_CREDENTIALS != "application-default" and not Path(self.FIREBASE_CREDENTIALS).is_file():
            raise ConfigError(f"FIREBASE_CREDENTIALS file not found: {self.FIREBASE_CREDENTIALS}")
        if not self.FIREBASE_WEB_API_KEY:
            raise ConfigError("FIREBASE_WEB_API_KEY is required for the /auth REST helpers")
        if self.FIREBASE_DATABASE_URL and not self.FIREBASE_DATABASE_URL.startswith("https://"):
            # firebase_admin takes an http:// database URL for an emulator and sends it the emulator's credential.
            raise ConfigError("FIREBASE_DATABASE_URL must be an https:// Realtime Database URL")
        if len(self.SECRET_KEY) < 32:
            raise ConfigError("SECRET_KEY must be set to at least 32 random characters")
        # The console channels write whole messages to the log, and an order confirmation carries ticket codes.
        if self.EMAIL_CHANNEL != "smtp":
            raise ConfigError("production needs a real e-mail channel: set SMTP_HOST (EMAIL_CHANNEL=console "
                              "would write e-mails, ticket codes included, to the log)")
        if self.PUSH_CHANNEL != "fcm":
            raise ConfigError("production needs PUSH_CHANNEL=fcm (console would write pushes to the log)")


CONFIGS = {
    "development": DevelopmentConfig,
    "production": ProductionConfig,
    "testing": TestingConfig,
}


def load_config(name=None):
    load_dotenv(ROOT / ".env")
    name = name or os.environ.get("APP_ENV", "development")
    try:
        return CONFIGS[name]()
    except KeyError:
        raise ConfigError(f"APP_ENV must be one of {', '.join(CONFIGS)}, got {name!r}") from None
