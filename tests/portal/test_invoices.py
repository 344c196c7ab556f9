"""The portal's invoice list and PDF downloads: own invoices only, every language, credit notes."""
import re
from datetime import date

import pytest
from flask_babel import force_locale, gettext
from sqlalchemy import select

from tests.conftest import SIGNUP_FIELDS
from tests.documents.conftest import pdf_text
from widget_server.billing.contracts import PaymentChoice, start_contract
from widget_server.billing.invoices import Draft, LineSpec, issue
from widget_server.billing.ledger import record_payment
from widget_server.billing.run import bill_due
from widget_server.extensions import db
from widget_server.portal import access
from widget_server.storage.models import Customer, Invoice
from widget_server.storage.queries import by_public_id

NBSP = re.compile(r"[\u00a0\u202f]")


@pytest.fixture
def customer(app):
    """customer(tenant=..., locale=..., fields=..., payment=...) -> the public id of a new customer (signed up in code)."""
    made = []

    def make(tenant="demo", locale="en", plan=None, fields=None, payment=None, on=date(2026, 1, 31), email="anna@example.com"):
        with app.app_context():
            t = app.extensions["widget_themes"].get(tenant)
            contract = start_contract(db.session, tenant=tenant, plan=t.plan(plan) if plan else t.plans[0], email=email,
                                      locale=locale, fields=fields or SIGNUP_FIELDS,
                                      payment=payment or PaymentChoice(kind="invoice"),
                                      signup_key=f"portal-test-{len(made)}", today=on)
            db.session.commit()
            made.append(contract.customer.public_id)
            return contract.customer.public_id

    yield make


@pytest.fixture
def portal(app):
    """portal(customer_id, tenant) -> a test client signed in to that customer's portal (through a one-time link)."""

    def enter(customer_id, tenant="demo"):
        with app.app_context():
            found = by_public_id(db.session, Customer, tenant, customer_id)
            token, _id = access.issue(tenant, found, flow=None, return_url=None, locale=None)
        browser = app.test_client()
        assert browser.get(f"/t/{tenant}/portal/enter?token={token}").status_code == 302
        return browser

    yield enter


@pytest.fixture
def bill(app):
    """bill(up_to) runs the billing run; returns nothing."""

    def run(up_to):
        with app.app_context():
            bill_due(db.session, app.extensions["widget_themes"].get, up_to)
            db.session.commit()

    yield run


def invoices_of(app, customer_id: str, tenant: str = "demo") -> list[Invoice]:
    """The customer's invoices, oldest first (detached, for their ids and numbers)."""
    with app.app_context():
        found = by_public_id(db.session, Customer, tenant, customer_id)
        rows = db.session.scalars(select(Invoice).where(Invoice.customer_id == found.id).order_by(Invoice.id)).all()
        db.session.expunge_all()
        return rows


def text_of(html: str) -> str:
    """Page text with tags removed and runs of white space (no-break spaces too) as one space."""
    return re.sub(r"\s+", " ", NBSP.sub(" ", re.sub(r"<[^>]+>", " ", html)))


def table_rows(html: str) -> dict[str, str]:
    """invoice number -> the text of its row, in the order of the table."""
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = [text_of(row) for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)]
    return {row.split()[0]: row for row in rows}


def translated(app, locale: str, message: str, **values) -> str:
    with app.test_request_context(), force_locale(locale):
        return gettext(message, **values)


def credit_note_for(app, invoice_id: int, on: date) -> None:
    with app.app_context():
        invoice = db.session.get(Invoice, invoice_id)
        tenant = app.extensions["widget_themes"].get(invoice.tenant)
        specs = [LineSpec(kind="credit", description=line.description, price_minor=line.gross_minor,
                          period_start=line.period_start, period_end=line.period_end) for line in invoice.lines]
        issue(db.session, [Draft(tenant=tenant, customer=invoice.customer, currency=invoice.currency, issue_date=on,
                                 lines=specs, kind="credit_note", corrects=invoice)])
        db.session.commit()


def test_invoices_and_credit_notes_newest_first_with_their_status(app, customer, portal, bill):
    anna = customer(plan="pro")
    bill(date(2026, 3, 31))  # three monthly invoices: 31 Jan, 28 Feb, 31 Mar
    first, second, third = invoices_of(app, anna)
    with app.app_context():
        found = db.session.get(Customer, first.customer_id)
        record_payment(db.session, customer=found, amount_minor=1990, currency="EUR", received_on=date(2026, 2, 10),
                       method="invoice", invoice=db.session.get(Invoice, first.id))
        db.session.commit()
    credit_note_for(app, second.id, date(2026, 4, 5))

    response = portal(anna).get("/t/demo/portal/invoices")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    rows = table_rows(page)
    assert list(rows) == ["DEMO-2026-000004", "DEMO-2026-000003", "DEMO-2026-000002", "DEMO-2026-000001"]
    assert "Credit note for DEMO-2026-000002" in rows["DEMO-2026-000004"] and "-€19.90" in rows["DEMO-2026-000004"]
    assert "Apr 5, 2026" in rows["DEMO-2026-000004"]
    assert "Overdue since Apr 14, 2026" in rows["DEMO-2026-000003"] and "€19.90" in rows["DEMO-2026-000003"]
    assert "Mar 31, 2026 – Apr 29, 2026" in rows["DEMO-2026-000003"]  # the service period with its last day
    assert "Paid" in rows["DEMO-2026-000002"]  # the credit note settled it
    assert "Paid" in rows["DEMO-2026-000001"] and "Jan 31, 2026 – Feb 27, 2026" in rows["DEMO-2026-000001"]
    assert page.count('aria-current="page"') == 1 and 'href="/t/demo/portal/invoices" aria-current="page"' in page


def test_an_invoice_not_yet_due_is_open_and_a_voided_one_says_so(app, customer, portal, bill):
    anna = customer(plan="pro", on=date.today())
    bill(date.today())
    (invoice,) = invoices_of(app, anna)
    browser = portal(anna)
    with app.app_context():
        due = db.session.get(Invoice, invoice.id).due_date
    assert due > date.today()
    text = text_of(browser.get("/t/demo/portal/invoices").get_data(as_text=True))
    with app.test_request_context():
        from flask_babel import format_date
        assert f"Open, due on {NBSP.sub(' ', format_date(due, 'medium'))}" in text
    with app.app_context():
        db.session.get(Invoice, invoice.id).status = "void"
        db.session.commit()
    text = text_of(browser.get("/t/demo/portal/invoices").get_data(as_text=True))
    assert "Void" in text and "Open, due on" not in text


@pytest.mark.parametrize("lang, amount, day, due", [
    ("en", "€19.90", "Jan 31, 2026", "Feb 14, 2026"),
    ("de", "19,90 €", "31.01.2026", "14.02.2026"),
    ("sv", "19,90 €", "31 jan. 2026", "14 feb. 2026"),
    ("da", "19,90 €", "31. jan. 2026", "14. feb. 2026"),
])
def test_the_list_speaks_the_customers_language(app, customer, portal, bill, lang, amount, day, due):
    anna = customer(plan="pro", locale=lang)
    bill(date(2026, 1, 31))
    page = portal(anna).get("/t/demo/portal/invoices").get_data(as_text=True)
    assert f'<html lang="{lang}">' in page
    text = text_of(page)
    assert amount in text and day in text and "DEMO-2026-000001" in text
    assert f"<h1>{translated(app, lang, 'Invoices')}</h1>" in page
    assert translated(app, lang, "Overdue since %(date)s", date=due) in text


def test_fjord_lists_its_invoices_in_swedish_kronor(app, customer, portal, bill):
    sven = customer(tenant="fjord", locale="sv", plan="mellan", email="sven@example.se")
    bill(date(2026, 1, 31))
    page = portal(sven, "fjord").get("/t/fjord/portal/invoices").get_data(as_text=True)
    assert '<html lang="sv">' in page
    text = text_of(page)
    assert "FJORD-2026-000001" in text and "149,00 kr" in text and "31 jan. 2026" in text


def test_no_invoices_yet(customer, portal):
    anna = customer()
    page = portal(anna).get("/t/demo/portal/invoices").get_data(as_text=True)
    assert "You have no invoices yet." in page and "<table" not in page


def test_pdf_download_in_the_customers_language(app, customer, portal, bill):
    anna = customer(plan="pro", locale="de")
    bill(date(2026, 1, 31))
    browser = portal(anna)
    page = browser.get("/t/demo/portal/invoices").get_data(as_text=True)
    (link,) = re.findall(r'href="(/t/demo/portal/invoices/[^"]+\.pdf)"', page)
    response = browser.get(link)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == 'attachment; filename="DEMO-2026-000001.pdf"'
    assert response.data.startswith(b"%PDF")
    text = pdf_text(response.data)
    assert "DEMO-2026-000001" in text and "Rechnung" in text and "19,90" in text


def test_a_credit_note_pdf_is_a_credit_note(app, customer, portal, bill):
    anna = customer(plan="pro")
    bill(date(2026, 1, 31))
    (invoice,) = invoices_of(app, anna)
    credit_note_for(app, invoice.id, date(2026, 2, 5))
    note = invoices_of(app, anna)[-1]
    response = portal(anna).get(f"/t/demo/portal/invoices/{note.public_id}.pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    assert 'filename="DEMO-2026-000002.pdf"' in response.headers["Content-Disposition"]
    text = pdf_text(response.data)
    assert "Credit note" in text and "DEMO-2026-000001" in text


def test_other_customers_and_other_tenants_invoices_are_not_found(app, customer, portal, bill):
    anna = customer(plan="pro")
    ben = customer(plan="pro", email="ben@example.com")
    sven = customer(tenant="fjord", locale="sv", plan="mellan", email="sven@example.se")
    bill(date(2026, 1, 31))
    (bens,) = invoices_of(app, ben)
    (svens,) = invoices_of(app, sven, "fjord")
    browser = portal(anna)
    for foreign in (bens.public_id, svens.public_id, "inv_doesnotexist", "..%2F..%2Fetc", "x" * 200):
        response = browser.get(f"/t/demo/portal/invoices/{foreign}.pdf")
        assert response.status_code == 404, foreign
        assert not response.data.startswith(b"%PDF")
    listed = browser.get("/t/demo/portal/invoices").get_data(as_text=True)
    assert bens.public_id not in listed and bens.number not in listed and svens.number not in listed
    # Anna's session is for demo only: fjord's portal does not know her.
    assert browser.get(f"/t/fjord/portal/invoices/{svens.public_id}.pdf").status_code == 401


def test_without_a_session_nothing_is_shown(app, customer, bill, client):
    anna = customer(plan="pro")
    bill(date(2026, 1, 31))
    (invoice,) = invoices_of(app, anna)
    assert client.get("/t/demo/portal/invoices").status_code == 401
    response = client.get(f"/t/demo/portal/invoices/{invoice.public_id}.pdf")
    assert response.status_code == 401 and not response.data.startswith(b"%PDF")


def test_markup_in_customer_data_is_text_in_the_pdf(app, customer, portal, bill):
    payload = '<script>alert("x")</script><b>Anna</b>'
    anna = customer(plan="pro", fields={**SIGNUP_FIELDS, "first_name": payload, "street": "<img src=x onerror=alert(1)>"})
    bill(date(2026, 1, 31))
    (invoice,) = invoices_of(app, anna)
    browser = portal(anna)
    page = browser.get("/t/demo/portal/invoices").get_data(as_text=True)
    assert "<script>alert" not in page and "<img src=x" not in page
    text = pdf_text(browser.get(f"/t/demo/portal/invoices/{invoice.public_id}.pdf").data)
    assert '<script>alert("x")</script><b>Anna</b>' in text  # printed as the text it is, not markup
    assert "<img src=x onerror=alert(1)>" in text
