"""Settings read from the environment; one class per way of running."""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("SHAREHUB_INSTANCE", BASE_DIR / "instance"))


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


# The development default and the placeholders shipped in deploy/: a server signing
# sessions with one of these lets anyone forge a session, so production refuses them.
DEV_SECRET_KEY = "dev-only-change-me"
PLACEHOLDER_SECRET_KEYS = frozenset(
    {DEV_SECRET_KEY, "change-me", "change-me-to-64-random-characters", "secret", "changeme"}
)
MIN_SECRET_KEY_LENGTH = 32


class Config:
    ENV_NAME = "development"
    PASSWORD_HASH_METHOD = "scrypt"  # werkzeug's scrypt (n=2**15, r=8, p=1)
    SECRET_KEY = os.environ.get("SECRET_KEY", DEV_SECRET_KEY)
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'sharehub.db'}"
    )
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    STORAGE_DIR = os.environ.get("STORAGE_DIR", str(INSTANCE_DIR / "storage"))
    MAX_CONTENT_LENGTH = 32 * 1024 * 1024
    MAX_DOCUMENT_BYTES = 10 * 1024 * 1024

    BABEL_DEFAULT_LOCALE = "zh_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = {"zh_CN": "中文", "en": "English"}

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE")
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE")
    PREFERRED_URL_SCHEME = os.environ.get("PREFERRED_URL_SCHEME", "http")
    # Number of trusted proxies in front of the app (X-Forwarded-For/Proto).
    PROXY_COUNT = int(os.environ.get("PROXY_COUNT", "0"))
    SERVER_BASE_URL = os.environ.get("SERVER_BASE_URL", "http://127.0.0.1:5000")

    WTF_CSRF_TIME_LIMIT = None

    RATELIMIT_ENABLED = True
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_HEADERS_ENABLED = True
    SIGNIN_RATE_LIMIT = os.environ.get("SIGNIN_RATE_LIMIT", "10 per minute;50 per hour")
    RESET_RATE_LIMIT = os.environ.get("RESET_RATE_LIMIT", "5 per minute;20 per hour")

    MAIL_SERVER = os.environ.get("MAIL_SERVER", "")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "25"))
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME", "")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD", "")
    MAIL_USE_TLS = _bool("MAIL_USE_TLS")
    MAIL_SENDER = os.environ.get("MAIL_SENDER", "ShareHub <noreply@sharehub.cn>")
    # Deliver queued mail right after the request that queued it commits.
    MAIL_SEND_AFTER_COMMIT = _bool("MAIL_SEND_AFTER_COMMIT", True)
    # Events a change stores (core/mail.py `defer_event`: a booking made, …) are rendered
    # into mail, invites, in-app messages and webhooks by `flask sharehub send-mail` (cron,
    # every minute), so the request that made the change waits for none of it. On: right
    # after the commit, in the same request (development, and the tests that read mail).
    NOTIFY_AFTER_COMMIT = _bool("NOTIFY_AFTER_COMMIT", False)

    EMAIL_TOKEN_MAX_AGE = 3 * 24 * 3600
    RESET_TOKEN_MAX_AGE = 2 * 3600
    INVITATION_MAX_AGE = 14 * 24 * 3600

    # External calendars are fetched only from public addresses; the tests' loopback
    # calendar server needs this, and a production app refuses to start with it.
    CALENDAR_IMPORT_ALLOW_PRIVATE = False

    # How long a booking request holds its slot while the lab decides, and how long a
    # freed slot is held for the first person on the waiting list.
    BOOKING_HOLD_HOURS = int(os.environ.get("BOOKING_HOLD_HOURS", "48"))
    WAITLIST_HOLD_HOURS = int(os.environ.get("WAITLIST_HOLD_HOURS", "24"))
    # A booking may be checked in this long before its start (and out this long after its
    # end); usage times are never in the future.
    CHECK_IN_MARGIN_MINUTES = int(os.environ.get("CHECK_IN_MARGIN_MINUTES", "60"))

    # Seals labs' merchant credentials in the database (core/sealed.py); comma-separated for
    # rotation, the first one seals. Production must set it; other modes derive one.
    CREDENTIALS_KEY = os.environ.get("SHAREHUB_CREDENTIALS_KEY", "")
    STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY", "")
    STRIPE_PUBLISHABLE_KEY = os.environ.get("STRIPE_PUBLISHABLE_KEY", "")
    STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET", "")
    STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE", "")  # e.g. a local stand-in
    # Where "pay online" sends the customer (Stripe's hosted Checkout pages).
    STRIPE_CHECKOUT_ORIGIN = os.environ.get(
        "STRIPE_CHECKOUT_ORIGIN", STRIPE_API_BASE or "https://checkout.stripe.com"
    )
    # Labs' own merchant accounts (Alipay, WeChat Pay): the gateways' addresses, and how
    # long a payment QR code stays valid.
    ALIPAY_SERVER_URL = os.environ.get("ALIPAY_SERVER_URL", "https://openapi.alipay.com/gateway.do")
    WECHATPAY_API_BASE = os.environ.get("WECHATPAY_API_BASE", "https://api.mch.weixin.qq.com")
    ONLINE_PAYMENT_MINUTES = int(os.environ.get("SHAREHUB_ONLINE_PAYMENT_MINUTES", "15"))


class DevelopmentConfig(Config):
    NOTIFY_AFTER_COMMIT = _bool("NOTIFY_AFTER_COMMIT", True)  # no cron on a laptop


class ProductionConfig(Config):
    ENV_NAME = "production"
    SECRET_KEY = os.environ.get("SECRET_KEY", "")
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", True)
    REMEMBER_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", True)
    PREFERRED_URL_SCHEME = os.environ.get("PREFERRED_URL_SCHEME", "https")


class TestConfig(Config):
    ENV_NAME = "test"
    TESTING = True
    SECRET_KEY = "test-secret"
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite://")
    # Limits stay on so the limiter is exercised; tests that check them lower these.
    SIGNIN_RATE_LIMIT = "10000 per minute"
    RESET_RATE_LIMIT = "10000 per minute"
    WTF_CSRF_ENABLED = False
    CALENDAR_IMPORT_ALLOW_PRIVATE = True  # test-only: the suite's calendar server is on loopback
    MAIL_SERVER = ""
    SERVER_NAME = "localhost"
    # scrypt at a test cost: the suite signs in thousands of times; the method and the
    # checks are the same, only the work factor (n) is small. Production keeps werkzeug's.
    PASSWORD_HASH_METHOD = "scrypt:256:8:1"


class ConfigurationError(RuntimeError):
    """A setting that makes the app unsafe to start; the message says what to set."""


def check_settings(config) -> None:
    """Refuses to start a production app whose settings would make it unsafe."""
    if config.get("ENV_NAME") != "production":
        return
    secret = config.get("SECRET_KEY") or ""
    if isinstance(secret, bytes):
        secret = secret.decode("utf-8", "replace")
    if not secret.strip() or secret.strip() in PLACEHOLDER_SECRET_KEYS:
        raise ConfigurationError(
            "SHAREHUB_ENV=production needs SECRET_KEY: set it in the environment to a long "
            'random value (e.g. python -c "import secrets; print(secrets.token_urlsafe(48))"); '
            "the development default and the example's placeholder are refused, since anyone "
            "who knows them can forge a session."
        )
    if config.get("CALENDAR_IMPORT_ALLOW_PRIVATE"):
        raise ConfigurationError(
            "CALENDAR_IMPORT_ALLOW_PRIVATE is a test-only setting: production fetches external "
            "calendars from public addresses only."
        )
    if len(secret) < MIN_SECRET_KEY_LENGTH:
        raise ConfigurationError(
            f"SECRET_KEY is too short for production: use at least {MIN_SECRET_KEY_LENGTH} "
            "random characters."
        )
