"""Entering the portal with a one-time link: session, replay, expiry, tenant isolation, timeouts, sign-out."""
import secrets
import time
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import select

from tests.api.conftest import create_key
from tests.conftest import hidden_inputs
from widget_server.billing.run import bill_due
from widget_server.portal import access
from widget_server.storage.models import PortalSession

from .signing_in import link_in, mail_app, sent_mails  # noqa: F401


@pytest.fixture
def link(app, client, signup_form):
    """Sign up (pro, invoice) through the form, then ask the API for portal links: link(**body) -> path."""
    url, data = signup_form(plan="pro")
    location = client.post(url, data=data).headers["Location"]
    contract_id = location.rsplit("/", 1)[-1]
    key = create_key(app, "demo")
    api = app.test_client()
    customer_id = api.get(f"/api/v1/contracts/{contract_id}", headers={"Authorization": f"Bearer {key}"}).get_json()["customer_id"]

    def make(**body):
        response = api.post("/api/v1/portal-sessions", json={"customer_id": customer_id, **body},
                            headers={"Authorization": f"Bearer {key}"})
        assert response.status_code == 201, response.get_json()
        parts = urlsplit(response.get_json()["url"])
        return f"{parts.path}?{parts.query}"

    yield make


def test_entering_opens_the_overview(app, link):
    browser = app.test_client()
    response = browser.get(link(locale="de"))
    assert response.status_code == 302 and response.headers["Location"].startswith("/t/demo/portal/")
    page = browser.get(response.headers["Location"]).get_data(as_text=True)
    assert 'lang="de"' in page and "Pro" in page and "19,90" in page
    assert "support@acme-fitness.example" in page


def test_overview_shows_balance_and_how_to_pay(app, link):
    with app.app_context():
        from widget_server.extensions import db
        bill_due(db.session, app.extensions["widget_themes"].get, app.extensions["widget_themes"].get("demo").today())
    browser = app.test_client()
    page = browser.get(browser.get(link()).headers["Location"]).get_data(as_text=True)
    assert "Open amount: €19.90" in page
    assert "DE02120300000000202051" in page  # the merchant's account, printed on every invoice
    assert "DEMO-" in page and "-000001" in page  # the payment reference


def test_a_link_works_once(app, link):
    path = link()
    assert app.test_client().get(path).status_code == 302
    replay = app.test_client().get(path)
    assert replay.status_code == 400 and "already been used" in replay.get_data(as_text=True)


def old_token(app, seconds: int, **payload) -> str:
    """A genuine entry token, signed `seconds` ago."""
    class Backdated(TimestampSigner):
        def get_timestamp(self):
            return int(time.time()) - seconds

    serializer = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="widget-server.portal-entry", signer=Backdated)
    return serializer.dumps({"t": "demo", "p": {"id": "ps_" + secrets.token_urlsafe(16), "flow": None, "return_url": None,
                                                "locale": None, **payload}})


def test_expired_tampered_and_foreign_links_are_refused(app, link):
    path = link()
    assert app.test_client().get(path[:-3] + "xyz").status_code == 400
    customer_id = app.test_client().get(path).status_code and _customer_id(app)
    expired = app.test_client().get(f"/t/demo/portal/enter?token={old_token(app, 601, customer=customer_id)}")
    assert expired.status_code == 400 and "expired" in expired.get_data(as_text=True)
    fresh = app.test_client().get(f"/t/demo/portal/enter?token={old_token(app, 590, customer=customer_id)}")
    assert fresh.status_code == 302
    foreign = app.test_client().get(link().replace("/t/demo/", "/t/fjord/"))
    assert foreign.status_code == 400
    assert foreign.headers.get("Location") is None


def _customer_id(app) -> str:
    with app.app_context():
        from widget_server.extensions import db
        from widget_server.storage.models import Customer
        return db.session.scalars(select(Customer.public_id)).first()


def test_the_lifetime_is_the_tenants_link_minutes(app, link, themes_dir):
    theme = themes_dir / "demo" / "theme.toml"
    theme.write_text(theme.read_text().replace("link_minutes = 10", "link_minutes = 2"))
    customer_id = _customer_id(app) if app.test_client().get(link()).status_code else None
    assert app.test_client().get(f"/t/demo/portal/enter?token={old_token(app, 110, customer=customer_id)}").status_code == 302
    assert app.test_client().get(f"/t/demo/portal/enter?token={old_token(app, 130, customer=customer_id)}").status_code == 400
    key = create_key(app, "demo")
    body = app.test_client().post("/api/v1/portal-sessions", json={"customer_id": customer_id},
                                  headers={"Authorization": f"Bearer {key}"}).get_json()
    seconds = (datetime.fromisoformat(body["expires_at"]) - datetime.now(timezone.utc)).total_seconds()
    assert 110 <= seconds <= 120


def test_a_token_signed_for_another_purpose_is_refused(app, link):
    token = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="widget-server.signup-prefill").dumps(
        {"t": "demo", "p": {"id": "ps_x", "customer": "cus_x"}})
    assert app.test_client().get(f"/t/demo/portal/enter?token={token}").status_code == 400


def test_without_a_session_the_overview_asks_to_sign_in(client):
    response = client.get("/t/demo/portal/")
    assert response.status_code == 401 and "link you received" in response.get_data(as_text=True)


def test_each_entry_gets_a_new_session_key(app, link):
    browser = app.test_client()
    browser.get(link())
    first = browser.get_cookie("__Host-widget_session").value
    browser.get(link())
    assert browser.get_cookie("__Host-widget_session").value != first
    with app.app_context():
        from widget_server.extensions import db
        assert len(db.session.scalars(select(PortalSession)).all()) == 2


def test_idle_sessions_end(app, link):
    browser = app.test_client()
    overview = browser.get(link()).headers["Location"]
    with app.app_context():
        from widget_server.extensions import db
        visit = db.session.scalar(select(PortalSession))
        visit.last_seen_at -= timedelta(minutes=31)
        db.session.commit()
    assert browser.get(overview).status_code == 401


def test_page_views_refresh_the_idle_clock_at_most_once_a_minute(app, link):
    browser = app.test_client()
    overview = browser.get(link()).headers["Location"]
    with app.app_context():
        from widget_server.extensions import db
        visit = db.session.scalar(select(PortalSession))
        visit.last_seen_at -= timedelta(seconds=30)
        db.session.commit()
        half_a_minute_ago = visit.last_seen_at
    assert browser.get(overview).status_code == 200
    with app.app_context():
        assert db.session.scalar(select(PortalSession)).last_seen_at == half_a_minute_ago  # no write for this view
        visit = db.session.scalar(select(PortalSession))
        visit.last_seen_at -= timedelta(minutes=20)
        db.session.commit()
    assert browser.get(overview).status_code == 200
    with app.app_context():
        assert datetime.now(timezone.utc) - db.session.scalar(select(PortalSession)).last_seen_at < timedelta(seconds=5)
    assert browser.get(overview).status_code == 200  # 20 idle minutes, then seen again: still signed in


def test_sign_out(app, link):
    browser = app.test_client()
    overview = browser.get(link()).headers["Location"]
    page = browser.get(overview).get_data(as_text=True)
    assert browser.post("/t/demo/portal/logout", data={}).status_code == 400  # CSRF token required
    signed_out = browser.post("/t/demo/portal/logout", data={"csrf_token": hidden_inputs(page)["csrf_token"]})
    assert signed_out.status_code == 200 and "signed out" in signed_out.get_data(as_text=True)
    assert browser.get(overview).status_code == 401


def test_portal_may_be_framed_by_the_allowlist_only(app, client, link):
    response = app.test_client().get(link())
    assert "http://localhost:*" in response.headers["Content-Security-Policy"]


def test_a_refused_link_offers_the_e_mail_sign_in_back_to_the_same_page(mail_app, link):
    """An expired link with a deep link: explained in the customer's language, then the e-mail sign-in opens
    the page the link was for, with the merchant's back link."""
    path = link(flow="profile", locale="de", return_url="http://localhost:8001/account")
    customer_id = _customer_id(mail_app)
    token = old_token(mail_app, 3600, customer=customer_id, flow="profile", locale="de",
                      return_url="http://localhost:8001/account")
    browser = mail_app.test_client()
    refused = browser.get(f"/t/demo/portal/enter?token={token}")
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400 and 'lang="de"' in page and "E-Mail-Adresse" in page
    assert refused.headers["Referrer-Policy"] == "no-referrer"
    form = hidden_inputs(page)
    assert form["entry"] == token
    assert browser.post("/t/demo/login", data={**form, "email": "anna@example.com"}).status_code == 200
    [message] = sent_mails(mail_app)
    landing = link_in(message)
    button = hidden_inputs(browser.get(landing).get_data(as_text=True))
    opened = browser.post(landing, data=button)
    assert opened.status_code == 303 and opened.headers["Location"].startswith("/t/demo/portal/profile")
    profile = browser.get(opened.headers["Location"]).get_data(as_text=True)
    assert 'href="http://localhost:8001/account" target="_top"' in profile
    assert path  # the merchant's own link is still unused and works
    assert mail_app.test_client().get(path).status_code == 302


def test_a_used_link_offers_the_sign_in_too(app, link):
    path = link(flow="invoices")
    app.test_client().get(path)
    replay = app.test_client().get(path)
    page = replay.get_data(as_text=True)
    assert replay.status_code == 400 and "already been used" in page and 'name="email"' in page
    assert hidden_inputs(page)["entry"] == path.split("token=", 1)[1]


def test_a_forged_token_gives_no_deep_link(app):
    page = app.test_client().get("/t/demo/portal/enter?token=abc.def").get_data(as_text=True)
    assert 'name="entry"' not in page and 'name="email"' in page


def test_the_flow_opens_its_page(app, link):
    response = app.test_client().get(link(flow="profile"))
    assert response.status_code == 302 and response.headers["Location"] == "/t/demo/portal/profile"
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_a_flow_whose_page_is_missing_opens_the_overview(app, link, monkeypatch):
    monkeypatch.setitem(access.FLOW_ENDPOINTS, "cancel", "portal.not_built_yet")
    response = app.test_client().get(link(flow="cancel", locale="sv"))
    assert response.headers["Location"] == "/t/demo/portal/?lang=sv"


def test_every_flow_leads_to_its_endpoint_when_registered(app):
    with app.test_request_context():
        for flow, endpoint in access.FLOW_ENDPOINTS.items():
            assert access.destination(flow) == (endpoint if endpoint in app.view_functions else "portal.overview")
        assert access.destination("../../evil") == access.destination(None) == "portal.overview"


def test_the_back_link_is_shown_only_with_a_return_url(app, link):
    browser = app.test_client()
    browser.get(link(return_url="http://localhost:8001/account?x=<b>"))
    page = browser.get("/t/demo/portal/history").get_data(as_text=True)
    assert 'href="http://localhost:8001/account?x=%3Cb%3E" target="_top">Back to Acme Fitness</a>' in page \
        or 'href="http://localhost:8001/account?x=&lt;b&gt;" target="_top">Back to Acme Fitness</a>' in page
    plain = app.test_client()
    plain.get(link())
    assert "Back to Acme Fitness" not in plain.get("/t/demo/portal/history").get_data(as_text=True)
