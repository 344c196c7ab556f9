"""Session cookies and CSRF tokens signed by our reusing serializer read back with the stock libraries."""
import pytest
from flask import session
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import validate_csrf
from itsdangerous import BadSignature, URLSafeTimedSerializer

from widget_server.web.session import ReusingSerializer, SigningSessionInterface, csrf_token


@pytest.mark.parametrize("value", [
    {"csrf_token": "ab" * 20},
    {"csrf_token": "ab" * 20, "signups": ["ct_" + "x" * 22] * 5},  # long enough to be compressed
    {"portal": {"demo": "k" * 43}, "n": 1},
])
def test_session_cookies_are_what_flask_would_read(app, value):
    ours = SigningSessionInterface().get_signing_serializer(app)
    stock = SecureCookieSessionInterface().get_signing_serializer(app)
    assert stock.loads(ours.dumps(value)) == value
    assert ours.loads(stock.dumps(value)) == value


def test_the_signer_is_reused_and_signs_with_the_current_key(app):
    serializer = ReusingSerializer(["old-key", "new-key"], salt="s")
    assert serializer.make_signer() is serializer.make_signer()
    signed = serializer.dumps("x")
    assert URLSafeTimedSerializer("new-key", salt="s").loads(signed) == "x"
    with pytest.raises(BadSignature):
        URLSafeTimedSerializer("old-key", salt="s").loads(signed)
    assert serializer.loads(URLSafeTimedSerializer("old-key", salt="s").dumps("y")) == "y"  # fallbacks still read


def test_csrf_tokens_are_accepted_by_flask_wtf_and_bound_to_the_session(app):
    with app.test_request_context():
        token = csrf_token()
        assert csrf_token() == token  # one per request
        validate_csrf(token)
        session["csrf_token"] = "another-visitor"
        with pytest.raises(Exception, match="do not match"):
            validate_csrf(token)
