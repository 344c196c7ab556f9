"""Signed-cookie sessions and CSRF tokens, with their signing serializers built once per key.

Flask builds a new serializer twice per request; with a CSRF token in every new
visitor's session that was a measurable part of serving the sign-up page.
"""
import hashlib
import os

from flask import current_app, g, session
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer


class SigningSessionInterface(SecureCookieSessionInterface):
    def __init__(self):
        self._serializers: dict = {}

    def get_signing_serializer(self, app):
        if not app.secret_key:
            return None
        keys = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        serializer = self._serializers.get(keys)
        if serializer is None:
            serializer = self._serializers[keys] = super().get_signing_serializer(app)
        return serializer


_CSRF_FIELD = "csrf_token"
_CSRF_SALT = "wtf-csrf-token"  # Flask-WTF's; CSRFProtect validates what this signs
_csrf_serializers: dict = {}


def csrf_token() -> str:
    """Flask-WTF's generate_csrf, with its signing serializer built once per key.

    Same salt, session key and g attribute as Flask-WTF, so CSRFProtect checks these
    tokens as its own (the sign-up tests post them)."""
    if _CSRF_FIELD in g:
        return g.get(_CSRF_FIELD)
    key = current_app.config.get("WTF_CSRF_SECRET_KEY") or current_app.secret_key
    serializer = _csrf_serializers.get(key)
    if serializer is None:
        serializer = _csrf_serializers[key] = URLSafeTimedSerializer(key, salt=_CSRF_SALT)
    if not isinstance(session.get(_CSRF_FIELD), str):
        session[_CSRF_FIELD] = hashlib.sha1(os.urandom(64)).hexdigest()
    token = serializer.dumps(session[_CSRF_FIELD])
    setattr(g, _CSRF_FIELD, token)
    return token
