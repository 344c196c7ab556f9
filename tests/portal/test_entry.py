"""Entering the portal with a one-time link: session, replay, expiry, tenant isolation, timeouts, sign-out."""
from datetime import date, timedelta
from urllib.parse import urlsplit

import pytest
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import select

from tests.api.conftest import create_key
from tests.conftest import hidden_inputs
from widget_server.billing.run import bill_due
from widget_server.storage.models import PortalSession


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
        bill_due(db.session, app.extensions["widget_themes"].get, date.today())
    browser = app.test_client()
    page = browser.get(browser.get(link()).headers["Location"]).get_data(as_text=True)
    assert "Open amount: €19.90" in page
    assert "DE02120300000000202051" in page  # the merchant's account, printed on every invoice
    assert f"DEMO-{date.today().year}-000001" in page  # the payment reference


def test_a_link_works_once(app, link):
    path = link()
    assert app.test_client().get(path).status_code == 302
    replay = app.test_client().get(path)
    assert replay.status_code == 400 and "already been used" in replay.get_data(as_text=True)


def test_expired_tampered_and_foreign_links_are_refused(app, link):
    path = link()
    assert app.test_client().get(path[:-3] + "xyz").status_code == 400
    app.config["WIDGET_PORTAL_LINK_MAX_AGE"] = -1
    expired = app.test_client().get(link())
    assert expired.status_code == 400 and "expired" in expired.get_data(as_text=True)
    app.config["WIDGET_PORTAL_LINK_MAX_AGE"] = 600
    foreign = app.test_client().get(path.replace("/t/demo/", "/t/fjord/"))
    assert foreign.status_code == 400
    assert foreign.headers.get("Location") is None


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
