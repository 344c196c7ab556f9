"""The overview is rendered again exactly when something it shows changed; otherwise it is served from the cache."""
import re
from datetime import date

import pytest
from sqlalchemy import select

from tests.conftest import hidden_inputs
from widget_server.billing.discounts import grant
from widget_server.billing.ledger import record_payment
from widget_server.billing.lifecycle import request_cancellation
from widget_server.billing.run import bill_due
from widget_server.extensions import db
from widget_server.portal import views
from widget_server.storage.models import Contract, Customer

from .signing_in import customer, signed_in  # noqa: F401  (fixture)

OVERVIEW = "/t/demo/portal/"
DAY = date(2026, 2, 14)  # the demo basic plan's trial (from 31 January) is over: the first invoice is due


@pytest.fixture
def billed(app, customer):
    """A demo customer with an open first invoice, and a browser signed in as them."""
    person = customer("open@example.com")
    with app.app_context():
        bill_due(db.session, app.extensions["widget_themes"].get, DAY)
        db.session.commit()
    yield person, signed_in(app, person)


def _page(browser, path=OVERVIEW) -> str:
    response = browser.get(path)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _renders(monkeypatch) -> list:
    """Counts the overview's renders (the real renderer still runs)."""
    calls = []
    real = views._render_overview

    def counted(*args):
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(views, "_render_overview", counted)
    return calls


def _without_csrf(page: str) -> str:
    """The page with its CSRF tokens blanked: they carry a timestamp, so two views a second apart differ there."""
    return re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token" value=""', page)


def test_a_second_visit_is_served_from_the_cache(app, billed, monkeypatch):
    _person, browser = billed
    renders = _renders(monkeypatch)
    first = _page(browser)
    assert 'name="csrf_token" value=""' in _without_csrf(first)
    assert _without_csrf(_page(browser)) == _without_csrf(first) and len(renders) == 1
    assert "Open amount: €" in first


def _pay(customer_id):
    person = db.session.get(Customer, customer_id)
    record_payment(db.session, customer=person, amount_minor=100_00, currency="EUR", received_on=DAY, method="invoice")


def _cancel(customer_id):
    contract = db.session.scalar(select(Contract).where(Contract.customer_id == customer_id))
    request_cancellation(db.session, contract, DAY, actor="merchant")


def _discount(customer_id):
    contract = db.session.scalar(select(Contract).where(Contract.customer_id == customer_id))
    grant(db.session, contract, percent=50, periods=3, actor="merchant")


@pytest.mark.parametrize("change, shown", [
    (_pay, "Credit in your favour"),
    (_cancel, "Cancelled, ends on"),
    (_discount, "off the plan price (invoices left: 3)."),
])
def test_a_change_made_elsewhere_shows_on_the_next_visit(app, billed, change, shown):
    person, browser = billed
    assert shown not in _page(browser)
    with app.app_context():  # the merchant's back end or the billing run, not this browser
        change(person.id)
        db.session.commit()
    assert shown in _page(browser)


def test_each_customer_sees_only_their_own_page(app, billed, customer):
    person, browser = billed
    other = signed_in(app, customer("paid@example.com"))
    with app.app_context():
        _pay(person.id)
        db.session.commit()
    assert "Credit in your favour" in _page(browser)
    assert "Credit in your favour" not in _page(other)


def test_language_and_embedding_are_part_of_the_key(app, billed):
    _person, browser = billed
    assert 'lang="en"' in _page(browser)
    german = _page(browser, OVERVIEW + "?lang=de")
    assert 'lang="de"' in german and "Offener Betrag" in german
    embedded = _page(browser, OVERVIEW + "?embed=http://localhost:8001")
    assert "embed=http" in embedded and "embed=http" not in _page(browser)


def test_every_visitor_gets_their_own_csrf_token_in_the_cached_page(app, billed):
    person, browser = billed
    second = signed_in(app, person)  # the same customer in another browser
    first_token = hidden_inputs(_page(browser))["csrf_token"]
    second_token = hidden_inputs(_page(second))["csrf_token"]
    assert first_token != second_token and "__widget" not in first_token
    assert second.post(OVERVIEW + "logout", data={"csrf_token": second_token}).status_code == 200
    assert browser.post(OVERVIEW + "logout", data={"csrf_token": first_token}).status_code == 200
    assert browser.get(OVERVIEW).status_code == 401
