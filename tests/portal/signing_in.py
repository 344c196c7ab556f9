"""Shared steps of the portal sign-in, profile and history tests: customers, portal sessions, e-mails."""
import re
import uuid
from datetime import date
from email import policy
from email.parser import BytesParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import SIGNUP_FIELDS, hidden_inputs
from widget_server.billing.contracts import PaymentChoice, start_contract
from widget_server.extensions import db, jobs
from widget_server.notify import emails
from widget_server.portal import access

PUBLIC_URL = "https://widgets.public.example"


@pytest.fixture
def mail_app(app, tmp_path):
    """The app with its own mail folder and job queue, and a public URL unlike any Host header."""
    app.config.update(WIDGET_MAIL_DIR=str(tmp_path / "mail"), WIDGET_JOBS_DB=str(tmp_path / "jobs.sqlite3"),
                      WIDGET_JOBS_QUEUE=f"test-{uuid.uuid4().hex[:12]}", WIDGET_PUBLIC_URL=PUBLIC_URL)
    jobs.init_app(app)
    yield app
    jobs.flush()


@pytest.fixture
def customer(app):
    """customer(email=..., locale=..., tenant=..., fields=...) -> Customer, signed up in code."""
    counter = iter(range(1000))

    def make(email="anna@example.com", locale="en", tenant="demo", fields=None, plan=None):
        with app.app_context():
            registry = app.extensions["widget_themes"]
            theme = registry.get(tenant)
            contract = start_contract(db.session, tenant=tenant, plan=theme.plan(plan or theme.plans[0].id), email=email,
                                      locale=locale, fields={**SIGNUP_FIELDS, "email": email, **(fields or {})},
                                      payment=PaymentChoice(kind="invoice"),
                                      signup_key=f"p{next(counter)}{uuid.uuid4().hex[:8]}", today=date(2026, 1, 31))
            db.session.commit()
            found = contract.customer
            db.session.expunge_all()
            return found
    yield make


def entry_path(app, customer, tenant="demo", flow=None, return_url=None, locale=None) -> str:
    with app.test_request_context():
        token, _id = access.issue(tenant, customer, flow=flow, return_url=return_url, locale=locale)
    return f"/t/{tenant}/portal/enter?token={token}"


def signed_in(app, customer, tenant="demo", **entry):
    """A browser (test client) signed in to the portal as this customer."""
    browser = app.test_client()
    response = browser.get(entry_path(app, customer, tenant, **entry))
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return browser


def csrf_of(browser, path: str) -> str:
    return hidden_inputs(browser.get(path).get_data(as_text=True))["csrf_token"]


def sent_mails(app) -> list:
    """Send what is owed and return every e-mail written so far, oldest first."""
    with app.app_context():
        emails.send_due(db.session)
    folder = Path(app.config["WIDGET_MAIL_DIR"])
    return [BytesParser(policy=policy.default).parsebytes(p.read_bytes()) for p in sorted(folder.glob("*.eml"))]


def text_of(message) -> str:
    return message.get_body(("plain",)).get_content()


def link_in(message) -> str:
    """The path of the one link to our public URL in an e-mail."""
    [url] = set(re.findall(re.escape(PUBLIC_URL) + r"/\S+", text_of(message)))
    return urlsplit(url).path
