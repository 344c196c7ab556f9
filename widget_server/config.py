"""Settings from the environment (WIDGET_* and DATABASE_URL).

Every setting has a development default so `make run` needs nothing; production
(`WIDGET_ENV=production`) refuses to start without a real secret.
"""
import os
from pathlib import Path

from . import paths

DEV_SECRET = "dev-only-insecure-secret"


class ConfigError(RuntimeError):
    """The environment describes a configuration we refuse to run with."""


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


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
        "DATABASE_URL": database_url,
        "WIDGET_PUBLIC_URL": environ.get("WIDGET_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/"),
        "WIDGET_THEMES_DIR": environ.get("WIDGET_THEMES_DIR", str(paths.THEMES)),
        "WIDGET_SIGNUP_LINK_MAX_AGE": int(environ.get("WIDGET_SIGNUP_LINK_MAX_AGE", 7 * 24 * 3600)),
        "WIDGET_SHOW_THEME_ERRORS": _bool(environ.get("WIDGET_SHOW_THEME_ERRORS"), env != "production"),
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
