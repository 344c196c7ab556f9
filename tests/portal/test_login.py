"""Magic-link sign-in at /t/<t>/login: the e-mail, single use, expiry, tenants, no enumeration,
rate limits (also shared through Redis), session fixation, CSRF, Referrer-Policy, framing."""
import os
import subprocess
import sys
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.conftest import hidden_inputs
from widget_server.extensions import db
from widget_server.storage.base import utcnow
from widget_server.storage.models import EmailMessage, LoginLink, PortalSession

from .signing_in import PUBLIC_URL, csrf_of, customer, link_in, mail_app, sent_mails, signed_in, text_of  # noqa: F401


def ask_for_link(browser, email, tenant="demo", query="", **extra):
    """Fill in the form (with its hidden inputs) and send it."""
    form = hidden_inputs(browser.get(f"/t/{tenant}/login{query}", **extra).get_data(as_text=True))
    return browser.post(f"/t/{tenant}/login{query}", data={**form, "email": email}, **extra)


def follow(browser, path):
    """Open an e-mailed sign-in link and press its button."""
    page = browser.get(path)
    assert page.status_code == 200, page.get_data(as_text=True)[:400]
    return browser.post(path, data={"csrf_token": hidden_inputs(page.get_data(as_text=True))["csrf_token"]})


@pytest.mark.parametrize("lang, label", [("en", "E-mail address"), ("de", "E-Mail-Adresse"), ("sv", "E-postadress"),
                                         ("da", "E-mailadresse")])
def test_the_form_speaks_every_language(client, lang, label):
    response = client.get(f"/t/demo/login?lang={lang}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and f'lang="{lang}"' in page
    assert f'<label for="f-email">{label}</label>' in page
    assert 'name="csrf_token"' in page and 'autocomplete="email"' in page
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_the_form_may_be_framed_like_the_portal(client):
    response = client.get("/t/demo/login")
    assert "frame-ancestors 'self' http://127.0.0.1:* http://localhost:*" in response.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in response.headers


def test_a_link_by_email_signs_in(mail_app, customer):
    anna = customer(locale="de")
    browser = mail_app.test_client()
    response = ask_for_link(browser, "anna@example.com")
    assert response.status_code == 200 and "anna@example.com" in response.get_data(as_text=True)
    assert response.headers["Referrer-Policy"] == "no-referrer"
    [message] = sent_mails(mail_app)
    assert message["To"] == "anna@example.com" and message["Content-Language"] == "de"  # the customer's language
    assert anna.public_id in text_of(message)
    path = link_in(message)
    assert path.startswith("/t/demo/login/")
    landing = browser.get(path)
    assert landing.status_code == 200 and landing.headers["Referrer-Policy"] == "no-referrer"
    assert 'lang="de"' in landing.get_data(as_text=True)
    signed = follow(browser, path)
    assert signed.status_code == 303 and signed.headers["Location"].startswith("/t/demo/portal/")
    assert browser.get("/t/demo/portal/history").status_code == 200
    with mail_app.app_context():
        [link] = db.session.scalars(select(LoginLink)).all()
        assert link.used_at is not None and link.customer_id == anna.id
        assert path.rsplit("/", 1)[1] not in (link.token_hash, link.public_id)  # only the hash is stored
        assert (link.expires_at - link.created_at) == timedelta(minutes=10)


def test_the_link_is_built_from_the_public_url_never_the_host_header(mail_app, customer):
    customer()
    response = ask_for_link(mail_app.test_client(), "anna@example.com", base_url="https://attacker.example")
    assert response.status_code == 200
    [message] = sent_mails(mail_app)
    assert f"{PUBLIC_URL}/t/demo/login/" in text_of(message)
    assert "attacker.example" not in message.as_string()


def test_the_answer_is_the_same_whether_or_not_the_address_exists(mail_app, customer):
    customer()
    known = ask_for_link(mail_app.test_client(), "anna@example.com")
    unknown = ask_for_link(mail_app.test_client(), "nobody@example.com")
    assert known.status_code == unknown.status_code == 200
    assert known.get_data(as_text=True).replace("anna@example.com", "X") == \
        unknown.get_data(as_text=True).replace("nobody@example.com", "X")
    assert [m["To"] for m in sent_mails(mail_app)] == ["anna@example.com"]


def test_an_address_of_several_accounts_gets_a_link_for_each(mail_app, customer):
    first, second = customer(), customer()
    ask_for_link(mail_app.test_client(), "anna@example.com")
    messages = sent_mails(mail_app)
    assert sorted(m.get_body(("plain",)).get_content().count(c.public_id) for m in messages for c in (first, second)) \
        == [0, 0, 1, 1]
    with mail_app.app_context():
        assert sorted(link.customer_id for link in db.session.scalars(select(LoginLink))) == sorted([first.id, second.id])


def test_an_address_of_another_tenant_gets_no_link(mail_app, customer):
    customer(email="sven@example.se", tenant="fjord", locale="sv")
    assert ask_for_link(mail_app.test_client(), "sven@example.se").status_code == 200
    assert sent_mails(mail_app) == []


def test_a_malformed_address_is_explained_and_kept(client):
    response = ask_for_link(client, "not-an-address", query="?lang=de")
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and 'value="not-an-address"' in page and 'aria-invalid="true"' in page


def test_a_link_works_once(mail_app, customer):
    customer()
    browser = mail_app.test_client()
    ask_for_link(browser, "anna@example.com")
    path = link_in(sent_mails(mail_app)[0])
    assert follow(browser, path).status_code == 303
    replay = mail_app.test_client().get(path)
    page = replay.get_data(as_text=True)
    assert replay.status_code == 400 and "already been used" in page
    assert 'name="email"' in page  # the form again, to ask for a new link
    again = mail_app.test_client()
    csrf = csrf_of(again, "/t/demo/login")
    assert again.post(path, data={"csrf_token": csrf}).status_code == 400


def test_an_expired_link_is_refused_with_the_form(mail_app, customer):
    customer()
    browser = mail_app.test_client()
    ask_for_link(browser, "anna@example.com")
    path = link_in(sent_mails(mail_app)[0])
    with mail_app.app_context():
        link = db.session.scalars(select(LoginLink)).one()
        link.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    response = browser.get(path)
    assert response.status_code == 400 and "expired" in response.get_data(as_text=True)
    assert 'name="email"' in response.get_data(as_text=True)


def test_an_expired_link_is_not_even_sent(mail_app, customer):
    customer()
    ask_for_link(mail_app.test_client(), "anna@example.com")
    with mail_app.app_context():
        db.session.scalars(select(LoginLink)).one().expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert sent_mails(mail_app) == []
    with mail_app.app_context():
        assert db.session.scalars(select(EmailMessage)).one().status == "cancelled"


def test_a_link_of_another_tenant_is_refused(mail_app, customer):
    customer()
    browser = mail_app.test_client()
    ask_for_link(browser, "anna@example.com")
    path = link_in(sent_mails(mail_app)[0])
    response = browser.get(path.replace("/t/demo/", "/t/fjord/"))
    assert response.status_code == 400 and "inloggningslänken är ogiltig" in response.get_data(as_text=True)  # fjord speaks Swedish
    assert browser.get(path.replace("/login/", "/login/x")).status_code == 400


def test_tampered_tokens_are_invalid(client):
    for token in ("x", "a" * 43, "%00" * 5, "b" * 300):
        assert client.get(f"/t/demo/login/{token}").status_code == 400


def test_every_sign_in_gets_a_new_key_and_old_keys_stop_working(mail_app, customer):
    """Session fixation: a key from before the sign-in (planted or old) opens nothing afterwards."""
    browser = signed_in(mail_app, customer(email="anna@example.com"))
    before = browser.get_cookie("__Host-widget_session").value
    assert browser.get("/t/demo/portal/history").status_code == 200
    ask_for_link(browser, "anna@example.com")
    follow(browser, link_in(sent_mails(mail_app)[0]))
    after = browser.get_cookie("__Host-widget_session").value
    assert after != before and browser.get("/t/demo/portal/history").status_code == 200
    planted = mail_app.test_client()
    planted.set_cookie("__Host-widget_session", before, domain="localhost", path="/", secure=True)
    assert planted.get("/t/demo/portal/history").status_code == 401
    with mail_app.app_context():
        visits = db.session.scalars(select(PortalSession).order_by(PortalSession.id)).all()
        assert len(visits) == 2 and visits[0].ended_at is not None and visits[1].ended_at is None


def test_forms_need_the_csrf_token(mail_app, customer):
    customer()
    browser = mail_app.test_client()
    assert browser.post("/t/demo/login", data={"email": "anna@example.com"}).status_code == 400
    ask_for_link(browser, "anna@example.com")
    path = link_in(sent_mails(mail_app)[0])
    refused = browser.post(path, data={})
    assert refused.status_code == 400 and refused.headers["Referrer-Policy"] == "no-referrer"
    assert follow(browser, path).status_code == 303  # the link was not used up by the refused POST


def test_the_deep_link_is_kept_through_the_e_mail(mail_app, customer):
    customer()
    browser = mail_app.test_client()
    ask_for_link(browser, "anna@example.com", query="?flow=profile")
    response = follow(browser, link_in(sent_mails(mail_app)[0]))
    assert response.headers["Location"].startswith("/t/demo/portal/profile")


def test_too_many_requests_per_address_get_a_friendly_page(mail_app, customer):
    customer()
    mail_app.config["WIDGET_LOGIN_LIMIT_PER_ADDRESS"] = "2 per 10 minutes"
    for _ in range(2):
        assert ask_for_link(mail_app.test_client(), "Anna@example.com ").status_code == 200
    limited = ask_for_link(mail_app.test_client(), "anna@example.com", query="?lang=de")
    page = limited.get_data(as_text=True)
    assert limited.status_code == 429 and limited.mimetype == "text/html"
    assert 'lang="de"' in page and "Zu viele Versuche" in page
    assert limited.headers["Referrer-Policy"] == "no-referrer"
    assert ask_for_link(mail_app.test_client(), "other@example.com").status_code == 200  # another address still may
    assert len(sent_mails(mail_app)) == 2


def test_too_many_requests_per_ip_are_refused(app):
    app.config["WIDGET_LOGIN_LIMIT_PER_IP"] = "3 per 10 minutes"
    statuses = [ask_for_link(app.test_client(), f"person{i}@example.com").status_code for i in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert app.test_client().get("/t/demo/login").status_code == 200  # the form itself stays available


@pytest.fixture
def redis_server(redis_server):
    """The shared Redis server, database 3 for these tests."""
    yield redis_server + "/3"


SECOND_INSTANCE = """
import sys
from tests.conftest import TEST_SECRET, hidden_inputs
from widget_server import create_app
app = create_app({"TESTING": True, "SECRET_KEY": TEST_SECRET, "REDIS_URL": sys.argv[1], "RATELIMIT_KEY_PREFIX": sys.argv[2],
                  "DATABASE_URL": sys.argv[3], "WIDGET_THEMES_DIR": sys.argv[4], "WIDGET_LOGIN_LIMIT_PER_IP": "3 per 10 minutes"})
browser = app.test_client()
page = browser.get("/t/demo/login")
assert page.status_code == 200, page.get_data(as_text=True)
csrf = hidden_inputs(page.get_data(as_text=True))["csrf_token"]
print(browser.post("/t/demo/login", data={"csrf_token": csrf, "email": "someone@example.com"}).status_code)
"""


def test_instances_share_the_count_in_redis(database_url, themes_dir, redis_server):
    """Two app instances (this process and another) with one REDIS_URL count together."""
    from widget_server import create_app

    from tests.conftest import TEST_SECRET
    prefix = f"test-{uuid.uuid4().hex}"
    app = create_app({"TESTING": True, "SECRET_KEY": TEST_SECRET, "REDIS_URL": redis_server, "RATELIMIT_KEY_PREFIX": prefix,
                      "DATABASE_URL": database_url, "WIDGET_THEMES_DIR": str(themes_dir),
                      "WIDGET_LOGIN_LIMIT_PER_IP": "3 per 10 minutes"})
    assert [ask_for_link(app.test_client(), f"p{i}@example.com").status_code for i in range(2)] == [200, 200]
    other = subprocess.run([sys.executable, "-c", SECOND_INSTANCE, redis_server, prefix, database_url, str(themes_dir)],
                           capture_output=True, text=True, timeout=120, cwd=os.getcwd(),
                           env={k: v for k, v in os.environ.items() if not k.startswith(("WIDGET_", "REDIS_"))})
    assert other.stdout.strip().splitlines()[-1:] == ["200"], other.stderr[-2000:]
    assert ask_for_link(app.test_client(), "p9@example.com").status_code == 429  # the third one was the other's
    import redis
    raw = redis.Redis.from_url(redis_server)
    keys = raw.keys(f"*{prefix}*")
    assert keys  # the count lives in Redis
    raw.delete(*keys)
