"""Flask's signed-cookie sessions, with the signing serializer built once per key set.

Flask builds a new serializer twice per request; with a CSRF token in every new
visitor's session that was a measurable part of serving the sign-up page.
"""
from flask.sessions import SecureCookieSessionInterface


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
