"""Signed-cookie sessions and CSRF tokens, signed without per-request set-up.

Every new visitor of the sign-up page gets a session cookie holding a CSRF
secret and a form token signed from it. itsdangerous builds a signer and
derives its key at every call and tries zlib on every payload; for these short
values that was a measurable share of serving the page. The tokens are
byte-compatible with itsdangerous, so Flask and Flask-WTF read them as their own.
"""
import hashlib
import os
import zlib

from flask import current_app, g, session
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode
from itsdangerous.url_safe import URLSafeSerializerMixin

# Shorter payloads never shrink enough under zlib to be worth trying (two signed hex strings).
COMPRESS_FROM = 200


class _KeyedSigner(TimestampSigner):
    """A timestamp signer that derives its key once instead of at every signature."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._derived = super().derive_key()

    def derive_key(self, secret_key=None):
        return self._derived if secret_key is None else super().derive_key(secret_key)


class ReusingSerializer(URLSafeTimedSerializer):
    """URLSafeTimedSerializer that reuses its signer and compresses only longer payloads."""

    default_signer = _KeyedSigner

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._signers: dict = {}

    def make_signer(self, salt=None):
        if salt is not None and salt != self.salt:
            return super().make_signer(salt)
        signer = self._signers.get(self.secret_key)
        if signer is None:
            signer = self._signers[self.secret_key] = super().make_signer(salt)
        return signer

    def dump_payload(self, obj) -> bytes:
        json = super(URLSafeSerializerMixin, self).dump_payload(obj)
        if len(json) >= COMPRESS_FROM:
            compressed = zlib.compress(json)
            if len(compressed) < len(json) - 1:
                return b"." + base64_encode(compressed)
        return base64_encode(json)


class SigningSessionInterface(SecureCookieSessionInterface):
    def __init__(self):
        self._serializers: dict = {}

    def get_signing_serializer(self, app):
        if not app.secret_key:
            return None
        fallbacks = tuple(app.config.get("SECRET_KEY_FALLBACKS") or ())
        keys = (app.secret_key, fallbacks)
        serializer = self._serializers.get(keys)
        if serializer is None:
            serializer = self._serializers[keys] = ReusingSerializer(
                [*fallbacks, app.secret_key], salt=self.salt, serializer=self.serializer,
                signer_kwargs={"key_derivation": self.key_derivation, "digest_method": self.digest_method},
            )
        return serializer


_CSRF_FIELD = "csrf_token"
_CSRF_SALT = "wtf-csrf-token"  # Flask-WTF's; CSRFProtect validates what this signs
_csrf_serializers: dict = {}


def csrf_token() -> str:
    """Flask-WTF's generate_csrf, with its signing serializer built once per key.

    Same salt, session key and g attribute as Flask-WTF, so CSRFProtect checks these
    tokens as its own (the sign-up tests post them)."""
    token = g.get(_CSRF_FIELD)
    if token is not None:
        return token
    key = current_app.config.get("WTF_CSRF_SECRET_KEY") or current_app.secret_key
    serializer = _csrf_serializers.get(key)
    if serializer is None:
        serializer = _csrf_serializers[key] = ReusingSerializer(key, salt=_CSRF_SALT)
    raw = session.get(_CSRF_FIELD)
    if not isinstance(raw, str):
        raw = session[_CSRF_FIELD] = hashlib.sha1(os.urandom(64)).hexdigest()
    token = serializer.dumps(raw)
    setattr(g, _CSRF_FIELD, token)
    return token
