"""Webhook signatures: what merchants verify."""
import hashlib
import hmac

from widget_server.notify import webhook_signature as ws

SECRET = "whsec_test"
BODY = b'{"id":"evt_1","type":"signup.completed"}'


def test_signature_is_hmac_sha256_of_timestamp_dot_body():
    header = ws.sign(SECRET, BODY, timestamp=1_700_000_000)
    expected = hmac.new(SECRET.encode(), b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"


def test_verify_accepts_a_fresh_signature():
    header = ws.sign(SECRET, BODY, timestamp=1_700_000_000)
    assert ws.verify(SECRET, BODY, header, now=1_700_000_000 + 299)
    assert ws.verify(SECRET, BODY, header, now=1_700_000_000 - 299)  # a clock slightly behind ours


def test_verify_rejects_wrong_secret_tampered_body_and_old_signatures():
    header = ws.sign(SECRET, BODY, timestamp=1_700_000_000)
    assert not ws.verify("whsec_other", BODY, header, now=1_700_000_000)
    assert not ws.verify(SECRET, BODY + b" ", header, now=1_700_000_000)
    assert not ws.verify(SECRET, BODY, header, now=1_700_000_000 + 301)  # replayed after 5 minutes
    assert not ws.verify(SECRET, BODY, header.replace("t=1700000000", "t=1700000001"), now=1_700_000_000)


def test_verify_rejects_malformed_headers():
    for header in ("", "garbage", "t=abc,v1=00", "v1=00", "t=1700000000", None):
        assert not ws.verify(SECRET, BODY, header, now=1_700_000_000)


def test_verify_accepts_any_of_several_v1_signatures():
    """Room for rotating secrets: a header may carry one v1 per secret."""
    good = ws.sign(SECRET, BODY, timestamp=1_700_000_000)
    header = "t=1700000000,v1=" + "0" * 64 + "," + good.split(",")[1]
    assert ws.verify(SECRET, BODY, header, now=1_700_000_000)
