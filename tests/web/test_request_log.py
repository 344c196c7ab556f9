"""JSON log lines with a request id, and no token, key, password or full IBAN in any of them."""
import io
import json
import logging
import re

import pytest

from tests.api.conftest import create_key
from widget_server.web.request_log import handler, redact

IBAN = "DE89370400440532013000"
LOGGERS = ("widget_server", "hosted_signup", "flask_wtf")


@pytest.fixture
def log_lines(app):
    """Everything our loggers (and Flask's) write during the test, at DEBUG, as parsed JSON lines."""
    stream = io.StringIO()
    out = handler(stream)
    loggers = [logging.getLogger(name) for name in (*LOGGERS, app.logger.name)]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(out)
        logger.setLevel(logging.DEBUG)

    def lines():
        return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]

    yield lines
    for logger, level in zip(loggers, levels):
        logger.removeHandler(out)
        logger.setLevel(level)


def test_lines_are_json_with_the_request_id_and_the_id_is_echoed(app, client, log_lines):
    @app.get("/log-something")
    def log_something():
        app.logger.warning("something happened")
        logging.getLogger("widget_server.test").info("and something else")
        return "ok"

    answer = client.get("/log-something?token=abc", headers={"X-Request-ID": "req-1234567890"})
    lines = log_lines()
    assert [line["message"] for line in lines] == ["something happened", "and something else"]
    assert {line["request_id"] for line in lines} == {"req-1234567890"}
    assert lines[0]["level"] == "WARNING" and lines[0]["path"] == "/log-something" and lines[0]["method"] == "GET"
    assert answer.headers["X-Request-ID"] == "req-1234567890"
    client.get("/log-something", headers={"X-Request-ID": "<script>"})  # not an id: a new one is made
    assert re.fullmatch(r"[0-9a-f]{32}", log_lines()[-1]["request_id"])


def test_quiet_requests_carry_no_request_id(client):
    assert "X-Request-ID" not in client.get("/healthz").headers


@pytest.mark.parametrize("text,secret", [
    ("GET /t/demo/portal/enter?token=eyJpZCI6InBzXzEifQ.ZxYw.abcdefghijklmnopqrstu", "eyJpZCI6"),
    ("Authorization: Bearer wsk_live_0123456789abcdef", "wsk_live"),
    ('{"password": "hunter2hunter2"}', "hunter2"),
    (f"debit from {IBAN} failed", IBAN),
    ("iban DE89 3704 0044 0532 0130 00 rejected", "0532"),
    ("link https://x.example/t/demo/login/AbCdEfGhIjKlMnOpQrStUvWx.YzAbCd.EfGhIjKlMnOpQrStUvWx", "AbCdEfGh"),
])
def test_redaction(text, secret):
    cleaned = redact(text)
    assert secret not in cleaned
    if "IBAN" in text.upper() or IBAN in text:
        assert "3000" in cleaned or "30 00" in text  # the last four digits stay, to tell accounts apart


def test_a_day_of_traffic_leaves_no_secret_in_the_logs(app, client, signup_form, log_lines, api_key_and_customer):
    key, customer_id = api_key_and_customer
    url, data = signup_form(payment_method="sepa", iban=IBAN, account_holder="Anna Berg", sepa_mandate="1",
                            email="sepa@example.com")
    assert client.post(url, data=data).status_code == 303
    portal = client.post("/api/v1/portal-sessions", json={"customer_id": customer_id},
                         headers={"Authorization": f"Bearer {key}"})
    token = portal.get_json()["url"].split("token=")[1]
    client.get(f"/t/demo/portal/enter?token={token}")
    client.get(f"/t/demo/portal/enter?token={token}")  # replayed: refused, and maybe logged
    client.get("/api/v1/customers/cus_doesnotexist", headers={"Authorization": "Bearer wsk_wrong_key_123456"})
    client.post("/t/demo/signup/basic", data={"csrf_token": "forged", "iban": IBAN})
    lines = log_lines()
    assert any("CSRF" in line["message"] for line in lines)  # the refused form was logged...
    text = "\n".join(json.dumps(line) for line in lines)
    for secret in (IBAN, key, token, "wsk_wrong_key_123456", app.secret_key):
        assert secret not in text


@pytest.fixture
def api_key_and_customer(app, sign_up):
    yield create_key(app, "demo"), sign_up().customer.public_id
