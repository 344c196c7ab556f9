"""Signed tokens: one itsdangerous serializer per purpose (its own salt).

Keys rotate: WIDGET_SECRET_KEY signs, WIDGET_OLD_SECRET_KEYS still verify.
"""
from flask import current_app
from itsdangerous import BadData, SignatureExpired, URLSafeTimedSerializer

PURPOSES = {
    # purpose: config key of its max age in seconds, or the seconds themselves when not a setting
    "signup-prefill": "WIDGET_SIGNUP_LINK_MAX_AGE",
    "portal-entry": "WIDGET_PORTAL_LINK_MAX_AGE",
    # The embedded portal's hand-off to a new tab: needed only between the frame's notice and the click.
    "portal-handoff": 120,
}


class BadToken(Exception):
    """Tampered, expired, of another purpose or of another tenant."""


class TokenExpired(BadToken):
    """Genuine, but older than its purpose allows."""


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    if purpose not in PURPOSES:
        raise KeyError(purpose)
    keys = [*current_app.config["WIDGET_OLD_SECRET_KEYS"], current_app.config["SECRET_KEY"]]
    return URLSafeTimedSerializer(keys, salt=f"widget-server.{purpose}")


def max_age(purpose: str) -> int:
    setting = PURPOSES[purpose]
    return setting if isinstance(setting, int) else int(current_app.config[setting])


def sign(purpose: str, tenant: str, payload: dict) -> str:
    return _serializer(purpose).dumps({"t": tenant, "p": payload})


def load(purpose: str, tenant: str, token: str, max_age_seconds: int | None = None) -> dict:
    """The payload; `max_age_seconds` overrides the purpose's configured lifetime (e.g. a tenant's)."""
    try:
        data = _serializer(purpose).loads(token, max_age=max_age(purpose) if max_age_seconds is None else max_age_seconds)
    except SignatureExpired as exc:
        raise TokenExpired(str(exc)) from exc
    except (BadData, ValueError, TypeError) as exc:
        raise BadToken(str(exc)) from exc
    if not isinstance(data, dict) or data.get("t") != tenant or not isinstance(data.get("p"), dict):
        raise BadToken("token belongs to another tenant")
    return data["p"]


def load_expired(purpose: str, tenant: str, token: str) -> dict:
    """The payload of a genuine token of this purpose and tenant however old it is: for what it asked
    for (a deep link), never for who may enter."""
    try:
        data = _serializer(purpose).loads(token)
    except (BadData, ValueError, TypeError) as exc:
        raise BadToken(str(exc)) from exc
    if not isinstance(data, dict) or data.get("t") != tenant or not isinstance(data.get("p"), dict):
        raise BadToken("token belongs to another tenant")
    return data["p"]
