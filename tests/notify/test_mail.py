"""E-mail transports: a real SMTP server (aiosmtpd) on 127.0.0.1, and .eml files without one."""
import logging
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from widget_server.notify import emails, outbox
from widget_server.storage.models import EmailMessage
from widget_server.worker.jobs import run_billing

from .conftest import SEPA, free_port, read_eml


def use_smtp(app, port, user=None, password=None):
    app.config.update(WIDGET_SMTP_HOST="127.0.0.1", WIDGET_SMTP_PORT=port, WIDGET_SMTP_STARTTLS=False,
                      WIDGET_SMTP_USER=user, WIDGET_SMTP_PASSWORD=password, WIDGET_SMTP_TIMEOUT=5,
                      WIDGET_MAIL_FROM="billing@widgets.example")


def test_the_invoice_email_arrives_over_smtp_with_the_pdf_attached(app, session, smtp_server, customer_contract):
    inbox, port = smtp_server()
    use_smtp(app, port)
    contract = customer_contract(locale="de", payment=SEPA)
    run_billing(date(2026, 1, 31))
    assert outbox.dispatch(session).emails == 2  # sign-up confirmation and invoice
    result = emails.send_due(session)
    assert result.sent == 2

    by_kind = {m["Subject"]: m for m in inbox.messages}
    assert len(by_kind) == 2
    invoice_mail = next(m for subject, m in by_kind.items() if "DEMO-2026-" in subject)
    assert invoice_mail["Subject"].startswith("Ihre Rechnung DEMO-2026-")
    assert invoice_mail["To"] == "anna@example.com"
    assert invoice_mail["From"] == "Acme Fitness <billing@widgets.example>"
    assert invoice_mail["Reply-To"] == "Acme Fitness <support@acme-fitness.example>"
    assert invoice_mail["Content-Language"] == "de"
    assert invoice_mail["Message-ID"].endswith("@widgets.example>")
    [attachment] = list(invoice_mail.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename().startswith("DEMO-2026-") and attachment.get_filename().endswith(".pdf")
    assert attachment.get_content().startswith(b"%PDF")
    text = invoice_mail.get_body(("plain",)).get_content()
    html = invoice_mail.get_body(("html",)).get_content()
    # The SEPA pre-notification: amount, collection date (= due date), mandate reference, creditor id.
    mandate = contract.customer.default_payment_method.mandate_reference
    for part in (text, html):
        assert "19,90\xa0€" in part
        assert "14. Februar 2026" in part
        assert mandate in part
        assert "DE98ZZZ09999999999" in part
        assert "SEPA-Lastschrift" in part
    session.expire_all()
    stored = session.scalars(select(EmailMessage).where(EmailMessage.kind == "invoice")).one()
    assert (stored.status, stored.transport, stored.locale) == ("sent", "smtp", "de")
    assert stored.message_id == invoice_mail["Message-ID"]


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_smtp_login_is_used_and_the_password_is_never_logged(app, session, smtp_server, customer_contract, caplog):
    caplog.set_level(logging.DEBUG)
    inbox, port = smtp_server(credentials=("mailer", "s3cret-pass"))
    use_smtp(app, port, user="mailer", password="wrong-pass")
    customer_contract()
    outbox.dispatch(session)
    start = datetime.now(timezone.utc)
    assert emails.send_due(session, now=start).retrying == 1
    assert inbox.envelopes == []
    session.expire_all()
    failed = session.scalars(select(EmailMessage)).one()
    assert failed.status == "pending" and failed.attempts == 1 and "SMTPAuthenticationError" in failed.last_error
    assert failed.next_attempt_at == start + timedelta(minutes=1)

    app.config["WIDGET_SMTP_PASSWORD"] = "s3cret-pass"
    assert emails.send_due(session, now=start + timedelta(seconds=30)).sent == 0  # not due yet
    assert emails.send_due(session, now=start + timedelta(minutes=1)).sent == 1
    assert len(inbox.envelopes) == 1
    assert "wrong-pass" not in caplog.text and "s3cret-pass" not in caplog.text
    assert "wrong-pass" not in (failed.last_error or "")


def test_an_unreachable_mail_server_is_retried_then_given_up(app, session, customer_contract):
    use_smtp(app, free_port())
    customer_contract()
    outbox.dispatch(session)
    now = datetime.now(timezone.utc)
    for _ in range(emails.MAX_ATTEMPTS - 1):
        assert emails.send_due(session, now=now).retrying == 1
        session.expire_all()
        now = session.scalars(select(EmailMessage)).one().next_attempt_at
    assert emails.send_due(session, now=now).failed == 1
    session.expire_all()
    message = session.scalars(select(EmailMessage)).one()
    assert (message.status, message.attempts, message.next_attempt_at) == ("failed", emails.MAX_ATTEMPTS, None)


def test_without_smtp_every_email_is_an_eml_file_and_its_name_is_logged(app, session, customer_contract, caplog, tmp_path):
    caplog.set_level(logging.INFO, logger="widget_server")
    assert not app.config["WIDGET_SMTP_HOST"]
    customer_contract(locale="sv")
    run_billing(date(2026, 1, 31))
    outbox.dispatch(session)
    assert emails.send_due(session).sent == 2
    files = sorted((tmp_path / "mail").glob("*.eml"))
    assert len(files) == 2
    for path in files:
        assert path.name in caplog.text
    messages = {path.name.rsplit("-", 1)[-1]: read_eml(path) for path in files}
    invoice_mail = messages["invoice.eml"]
    assert invoice_mail["To"] == "anna@example.com" and invoice_mail["Content-Language"] == "sv"
    assert [a.get_content_type() for a in invoice_mail.iter_attachments()] == ["application/pdf"]
    session.expire_all()
    stored = {m.kind: m for m in session.scalars(select(EmailMessage))}
    assert {m.transport for m in stored.values()} == {"file"}
    assert stored["invoice"].stored_as == next(p.name for p in files if p.name.endswith("invoice.eml"))
