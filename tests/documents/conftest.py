"""Fixtures for document tests: invoices issued by the real billing code, and the text of their PDFs."""
import io
import re
from datetime import date

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from widget_server.billing.contracts import PaymentChoice, start_contract
from widget_server.billing.invoices import Draft, LineSpec, issue
from widget_server.billing.run import bill_due
from widget_server.storage.models import Invoice

CUSTOMER = {
    "first_name": "Anna", "last_name": "Berg", "email": "anna@example.com", "street": "Lindenweg 4",
    "postal_code": "12345", "city": "Hamburg", "country": "DE",
}
CUSTOMER_IBAN = "DE89370400440532013000"


@pytest.fixture
def pdf_cache_dir(app, tmp_path):
    folder = tmp_path / "invoice-pdfs"
    app.config["WIDGET_PDF_CACHE_DIR"] = str(folder)
    yield folder


@pytest.fixture
def make_invoice(session, tenants, pdf_cache_dir):
    """Sign a customer up and bill their first period; returns the Invoice."""
    made = []

    def make(tenant="demo", plan="pro", locale="de", fields=None, payment="invoice", on=date(2026, 1, 31)):
        t = tenants(tenant)
        choice = (PaymentChoice(kind="sepa", account_holder="Anna Berg", iban=CUSTOMER_IBAN, bic="COBADEFFXXX")
                  if payment == "sepa" else PaymentChoice(kind="invoice"))
        contract = start_contract(session, tenant=tenant, plan=t.plan(plan), email="anna@example.com", locale=locale,
                                  fields={**CUSTOMER, **(fields or {})}, payment=choice,
                                  signup_key=f"key-{len(made)}-{tenant}-{plan}", today=on)
        session.commit()
        known = set(session.scalars(select(Invoice.id)))
        bill_due(session, tenants, on)
        invoice = session.scalar(select(Invoice).where(Invoice.customer_id == contract.customer_id,
                                                       Invoice.id.not_in(known)))
        made.append(invoice)
        return invoice

    yield make


@pytest.fixture
def credit_note(session, tenants):
    """A credit note for the whole of an invoice."""

    def make(invoice):
        from widget_server.storage.models import Customer
        tenant = tenants(invoice.tenant)
        customer = session.get(Customer, invoice.customer_id)
        specs = [LineSpec(kind="credit", description=line.description, price_minor=line.gross_minor,
                          period_start=line.period_start, period_end=line.period_end) for line in invoice.lines]
        issued = issue(session, [Draft(tenant=tenant, customer=customer, currency=invoice.currency,
                                       issue_date=date(2026, 2, 5), lines=specs, kind="credit_note", corrects=invoice)])
        session.commit()
        return session.get(Invoice, issued[0].id)

    yield make


def pdf_text(data: bytes) -> str:
    """The text of every page, with runs of white space (incl. no-break spaces) as one space."""
    reader = PdfReader(io.BytesIO(data))
    text = "\n".join(page.extract_text() or "" for page in reader.pages)
    return re.sub(r"[ \t\u00a0\u202f]+", " ", text)


def one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text)
