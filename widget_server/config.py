"""Settings from the environment (WIDGET_* and DATABASE_URL).

Every setting has a development default so `make run` needs nothing; production
(`WIDGET_ENV=production`) refuses to start without a real secret.
"""
import os
from pathlib import Path

from . import paths

DEV_SECRET = "dev-only-insecure-secret"

# The origins Stripe documents for Stripe.js and the Payment Element (docs.stripe.com/security/guide#content-security-policy),
# per CSP directive; web/headers.py adds them (and WIDGET_STRIPE_JS_URL's origin) on card pages of tenants with Stripe.
STRIPE_CSP_SOURCES = {
    "script-src": ("https://js.stripe.com", "https://*.js.stripe.com"),
    "frame-src": ("https://js.stripe.com", "https://*.js.stripe.com", "https://hooks.stripe.com"),
    "connect-src": ("https://api.stripe.com",),
}


class ConfigError(RuntimeError):
    """The environment describes a configuration we refuse to run with."""


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(value: str | None, default: int) -> int:
    if value is None or value.strip() == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"expected a whole number, got {value!r}") from None


def _time_of_day(value: str | None, default: str, name: str) -> str:
    """'HH:MM' (UTC), checked so a typo fails at start rather than silently never running a job."""
    value = (value or default).strip()
    hours, _, minutes = value.partition(":")
    if not (hours.isdigit() and minutes.isdigit() and int(hours) < 24 and int(minutes) < 60):
        raise ConfigError(f"{name} must be a time of day as HH:MM (UTC), got {value!r}")
    return f"{int(hours):02d}:{int(minutes):02d}"


def from_env(instance_path: str, environ=os.environ) -> dict:
    """Build the Flask config mapping from environment variables."""
    env = environ.get("WIDGET_ENV", "development")
    database_url = environ.get("DATABASE_URL") or f"sqlite:///{Path(instance_path) / 'widget.db'}"
    if database_url.startswith("postgres://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgres://"):]
    elif database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://"):]
    old_keys = [k for k in environ.get("WIDGET_OLD_SECRET_KEYS", "").split(",") if k.strip()]
    return {
        "WIDGET_ENV": env,
        "SECRET_KEY": environ.get("WIDGET_SECRET_KEY", DEV_SECRET),
        "WIDGET_OLD_SECRET_KEYS": old_keys,
        "SECRET_KEY_FALLBACKS": old_keys,  # sessions verify with the previous keys too
        "DATABASE_URL": database_url,
        "WIDGET_PUBLIC_URL": environ.get("WIDGET_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/"),
        "WIDGET_THEMES_DIR": environ.get("WIDGET_THEMES_DIR", str(paths.THEMES)),
        # Theme files are checked for changes at most this often per tenant (0: on every request).
        "WIDGET_THEME_RELOAD_SECONDS": float(environ.get("WIDGET_THEME_RELOAD_SECONDS", 1)),
        "WIDGET_SIGNUP_LINK_MAX_AGE": int(environ.get("WIDGET_SIGNUP_LINK_MAX_AGE", 7 * 24 * 3600)),
        # Portal: one-time entry links, and how long a portal session lasts idle and at most.
        "WIDGET_PORTAL_LINK_MAX_AGE": int(environ.get("WIDGET_PORTAL_LINK_MAX_AGE", 600)),
        "WIDGET_PORTAL_IDLE_MINUTES": int(environ.get("WIDGET_PORTAL_IDLE_MINUTES", 30)),
        "WIDGET_PORTAL_MAX_HOURS": int(environ.get("WIDGET_PORTAL_MAX_HOURS", 12)),
        "WIDGET_SHOW_THEME_ERRORS": _bool(environ.get("WIDGET_SHOW_THEME_ERRORS"), env != "production"),
        # Rendered invoice PDFs (a cache: safe to delete).
        "WIDGET_PDF_CACHE_DIR": environ.get("WIDGET_PDF_CACHE_DIR") or str(Path(instance_path) / "invoice-pdfs"),
        # Background jobs (huey): Redis when REDIS_URL is set, else a SQLite file under instance/.
        "REDIS_URL": environ.get("REDIS_URL") or None,
        "WIDGET_JOBS_DB": environ.get("WIDGET_JOBS_DB") or str(Path(instance_path) / "jobs.sqlite3"),
        "WIDGET_JOBS_QUEUE": environ.get("WIDGET_JOBS_QUEUE") or "widget-server",
        "WIDGET_WORKER_THREADS": _int(environ.get("WIDGET_WORKER_THREADS"), 2),
        "WIDGET_BILLING_RUN_AT": _time_of_day(environ.get("WIDGET_BILLING_RUN_AT"), "02:00", "WIDGET_BILLING_RUN_AT"),
        "WIDGET_DUNNING_RUN_AT": _time_of_day(environ.get("WIDGET_DUNNING_RUN_AT"), "07:00", "WIDGET_DUNNING_RUN_AT"),
        # Cards due are charged daily after the billing run (worker/jobs.py card_charges).
        "WIDGET_CARD_CHARGE_RUN_AT": _time_of_day(environ.get("WIDGET_CARD_CHARGE_RUN_AT"), "03:00", "WIDGET_CARD_CHARGE_RUN_AT"),
        # E-mail: SMTP when a host is set; otherwise .eml files under instance/mail/ (nothing is lost).
        "WIDGET_SMTP_HOST": environ.get("WIDGET_SMTP_HOST") or None,
        "WIDGET_SMTP_PORT": _int(environ.get("WIDGET_SMTP_PORT"), 587),
        "WIDGET_SMTP_USER": environ.get("WIDGET_SMTP_USER") or None,
        "WIDGET_SMTP_PASSWORD": environ.get("WIDGET_SMTP_PASSWORD") or None,
        "WIDGET_SMTP_STARTTLS": _bool(environ.get("WIDGET_SMTP_STARTTLS"), True),
        "WIDGET_SMTP_SSL": _bool(environ.get("WIDGET_SMTP_SSL"), False),
        "WIDGET_SMTP_TIMEOUT": _int(environ.get("WIDGET_SMTP_TIMEOUT"), 30),
        "WIDGET_MAIL_FROM": environ.get("WIDGET_MAIL_FROM") or "noreply@localhost",
        "WIDGET_MAIL_DIR": environ.get("WIDGET_MAIL_DIR") or str(Path(instance_path) / "mail"),
        # Cards (Stripe): the Stripe.js URL card pages load (tests serve a fake one). Its origin and
        # STRIPE_CSP_SOURCES are what web/headers.py allows on those pages, and only there.
        "WIDGET_STRIPE_JS_URL": environ.get("WIDGET_STRIPE_JS_URL") or "https://js.stripe.com/v3/",
        "WIDGET_STRIPE_CSP_SOURCES": STRIPE_CSP_SOURCES,
        # Rate limits (Flask-Limiter syntax; several separated by ";"): per client address for sign-up
        # POSTs, per API key for the merchant API, per typed address and per IP for the e-mail sign-in.
        "WIDGET_SIGNUP_RATE_LIMIT": environ.get("WIDGET_SIGNUP_RATE_LIMIT") or "20 per minute;200 per hour",
        "WIDGET_API_RATE_LIMIT": environ.get("WIDGET_API_RATE_LIMIT") or "600 per minute",
        # Separates the counts of deployments sharing one Redis.
        "RATELIMIT_KEY_PREFIX": environ.get("WIDGET_RATELIMIT_PREFIX") or "widget-server",
        "WIDGET_LOGIN_LIMIT_PER_ADDRESS": environ.get("WIDGET_LOGIN_LIMIT_PER_ADDRESS") or "5 per 15 minutes",
        "WIDGET_LOGIN_LIMIT_PER_IP": environ.get("WIDGET_LOGIN_LIMIT_PER_IP") or "30 per 15 minutes",
        # Observability: JSON log lines at this level; GET /metrics from loopback, or with this bearer token.
        "WIDGET_LOG_LEVEL": (environ.get("WIDGET_LOG_LEVEL") or "INFO").upper(),
        "WIDGET_METRICS_TOKEN": environ.get("WIDGET_METRICS_TOKEN") or None,
        # Merchant webhooks.
        "WIDGET_WEBHOOK_TIMEOUT": _int(environ.get("WIDGET_WEBHOOK_TIMEOUT"), 10),
        "WIDGET_WEBHOOK_MAX_ATTEMPTS": _int(environ.get("WIDGET_WEBHOOK_MAX_ATTEMPTS"), 8),
        # A delivery whose worker died mid-request is sent again this long after its timeout ran out.
        "WIDGET_WEBHOOK_LEASE_MARGIN": _int(environ.get("WIDGET_WEBHOOK_LEASE_MARGIN"), 60),
        # Cookies must work inside a cross-site iframe: SameSite=None needs Secure,
        # and Partitioned (CHIPS) keeps them working where third-party cookies are blocked.
        "SESSION_COOKIE_NAME": "__Host-widget_session",
        "SESSION_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "None",
        "SESSION_COOKIE_PARTITIONED": True,
        "SESSION_COOKIE_PATH": "/",
        "WTF_CSRF_TIME_LIMIT": None,
        "WTF_CSRF_SSL_STRICT": False,
        "BABEL_TRANSLATION_DIRECTORIES": str(paths.TRANSLATIONS),
        "BABEL_DEFAULT_LOCALE": "en",
        "MAX_CONTENT_LENGTH": 256 * 1024,
        "JSON_SORT_KEYS": False,
    }


def check(config) -> None:
    """Refuse configurations that would be unsafe in production."""
    if config.get("WIDGET_ENV") != "production":
        return
    secret = config.get("SECRET_KEY") or ""
    if secret == DEV_SECRET or len(secret) < 32:
        raise ConfigError("WIDGET_SECRET_KEY must be set to a random value of at least 32 characters in production")
    if not str(config.get("WIDGET_PUBLIC_URL", "")).startswith("https://"):
        raise ConfigError("WIDGET_PUBLIC_URL must be an https:// URL in production")
