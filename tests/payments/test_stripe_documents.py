"""Card customers' invoices say how they are paid: "We will charge … to your card ending 4242 on …",
in the invoice e-mail and the invoice PDF, in the customer's language (like SEPA's pre-notification)."""
from datetime import date
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.documents.conftest import one_line, pdf_text
from widget_server.billing.contracts import PaymentChoice
from widget_server.documents import invoice_pdf
from widget_server.notify import emails, outbox
from widget_server.payments import stripe as stripe_payments
from widget_server.storage.models import Invoice


@pytest.fixture
def card_invoice(app, session, tenants, sign_up, tmp_path, fake_stripe):
    """A demo customer paying by a saved Visa card, and their first invoice."""
    app.config.update(WIDGET_MAIL_DIR=str(tmp_path / "mail"), WIDGET_PDF_CACHE_DIR=str(tmp_path / "pdfs"))

    def make(locale="en"):
        contract = sign_up("pro", on=date(2026, 1, 1), key=f"doc-{locale}", payment=PaymentChoice(kind="invoice"))
        person = contract.customer
        person.locale = locale
        stripe_payments.create_setup_intent(session, tenants("demo"), person)
        stripe_payments.save_card(session, tenants("demo"), person, "pm_card_visa", brand="visa", last4="4242")
        session.commit()
        from widget_server.billing.run import bill_due
        bill_due(session, tenants, date(2026, 1, 1))
        session.commit()
        return session.scalar(select(Invoice).where(Invoice.customer_id == person.id))
    yield make


def invoice_mail(app, session):
    outbox.dispatch(session)
    emails.send_due(session)
    [path] = [p for p in sorted(Path(app.config["WIDGET_MAIL_DIR"]).glob("*.eml"))
              if "invoice" in BytesParser(policy=policy.default).parsebytes(p.read_bytes())["Subject"].lower()
              or "rechnung" in BytesParser(policy=policy.default).parsebytes(p.read_bytes())["Subject"].lower()]
    message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
    return one_line(message.get_body(("plain",)).get_content()), message.get_body(("html",)).get_content()


def test_the_invoice_email_and_pdf_name_the_card(app, session, card_invoice):
    invoice = card_invoice()
    assert invoice.buyer["payment_method"]["card_last4"] == "4242"  # kept with the invoice, as issued
    text, html = invoice_mail(app, session)
    assert "We will charge €19.90 to your card ending 4242 on January 15, 2026." in text
    assert "Visa" in text and "Please transfer" not in text
    assert "to your card ending 4242" in html
    data, _name = invoice_pdf(invoice)
    printed = one_line(pdf_text(data))
    assert "We will charge €19.90 to your card ending 4242 on Jan 15, 2026." in printed, printed[-700:]
    assert "Visa" in printed and "Payment reference" not in printed


def test_without_card_details_the_invoice_asks_for_a_transfer(app, session, tenants, sign_up, tmp_path, fake_stripe):
    """A card saved before we kept brand and last four (webhook without Stripe reachable) falls back to the transfer text."""
    app.config.update(WIDGET_MAIL_DIR=str(tmp_path / "mail"), WIDGET_PDF_CACHE_DIR=str(tmp_path / "pdfs"))
    contract = sign_up("pro", on=date(2026, 1, 1), key="doc-nolast4", payment=PaymentChoice(kind="invoice"))
    stripe_payments.save_card(session, tenants("demo"), contract.customer, "pm_card_visa")
    session.commit()
    from widget_server.billing.run import bill_due
    bill_due(session, tenants, date(2026, 1, 1))
    session.commit()
    text, _html = invoice_mail(app, session)
    assert "card ending" not in text and "überweisen" in text, text
