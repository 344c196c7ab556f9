"""What customers read: e-mails in their language, with the right facts, owed once per thing."""
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select, update

from widget_server.billing.ledger import record_payment
from widget_server.notify import emails, outbox
from widget_server.storage.models import EmailMessage, OutboxEvent
from widget_server.worker.jobs import run_billing

from .conftest import SEPA, read_eml

FJORD_PLAN = "mellan"


def sent(session, tmp_path) -> dict:
    """Dispatch, send to files, and return {kind: parsed message}."""
    outbox.dispatch(session)
    emails.send_due(session)
    found = {}
    for path in sorted((tmp_path / "mail").glob("*.eml")):
        found.setdefault(path.stem.rsplit("-", 1)[-1], []).append(read_eml(path))
    return found


def body(message, kind="plain"):
    return message.get_body((kind,)).get_content()


@pytest.mark.parametrize("locale, subject, sentence, price", [
    ("en", "Welcome to Acme Fitness", "Thank you for signing up.", "€19.90 per month"),
    ("de", "Willkommen bei Acme Fitness", "vielen Dank für Ihre Anmeldung.", "19,90\xa0€ pro Monat"),
    ("sv", "Välkommen till Acme Fitness", "Tack för din registrering.", "19,90\xa0€ per månad"),
    ("da", "Velkommen til Acme Fitness", "Tak for din tilmelding.", "19,90\xa0€ pr. måned"),
])
def test_signup_confirmation_speaks_the_customers_language(app, session, customer_contract, tmp_path,
                                                           locale, subject, sentence, price):
    contract = customer_contract(locale=locale)
    [message] = sent(session, tmp_path)["signup_confirmation"]
    assert message["Subject"] == subject
    assert message["Content-Language"] == locale
    for part in (body(message), body(message, "html")):
        assert sentence in part
        assert price in part
        assert contract.public_id in part
        assert "Anna Berg" in part


def test_a_language_the_tenant_does_not_offer_falls_back_to_its_default(app, session, customer_contract, tmp_path):
    customer_contract(locale="fr")
    [message] = sent(session, tmp_path)["signup_confirmation"]
    assert message["Content-Language"] == "en"


def test_a_tenant_without_every_contact_detail_still_sends(app, session, customer_contract, tmp_path):
    """fjord's [contact] has an e-mail address only: the strict templates must not trip over the phone."""
    customer_contract(tenant="fjord", plan=FJORD_PLAN, locale="sv")
    [message] = sent(session, tmp_path)["signup_confirmation"]
    assert "hej@fjordkaffe.example" in body(message)


def test_trial_contracts_are_told_when_the_trial_ends(app, session, customer_contract, tmp_path):
    customer_contract(plan="basic", locale="de", on=date(2026, 1, 31))  # 14 days free
    [message] = sent(session, tmp_path)["signup_confirmation"]
    text = body(message)
    assert "14. Februar 2026" in text
    assert "Während des kostenlosen Testzeitraums zahlen Sie nichts." in text


def test_html_escapes_what_customers_typed(app, session, customer_contract, tmp_path):
    fields = {"first_name": "<script>alert(1)</script>", "last_name": "O'Neil & Co", "country": "DE"}
    customer_contract(fields=fields)
    [message] = sent(session, tmp_path)["signup_confirmation"]
    html = body(message, "html")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "O&#39;Neil &amp; Co" in html
    assert "<script>alert(1)</script> O'Neil & Co" in body(message)  # text/plain is not HTML


def test_invoice_email_for_bank_transfer_says_where_to_pay(app, session, customer_contract, tmp_path):
    customer_contract(locale="de")
    run_billing(date(2026, 1, 31))
    [message] = sent(session, tmp_path)["invoice"]
    text = body(message)
    assert message["Subject"].startswith("Ihre Rechnung DEMO-2026-") and "Acme Fitness" in message["Subject"]
    assert "anbei erhalten Sie Ihre Rechnung DEMO-2026-" in text
    assert "Bitte überweisen Sie 19,90\xa0€ bis zum 14. Februar 2026" in text
    assert "Abrechnungszeitraum: 31. Januar 2026 – 27. Februar 2026" in text  # [start, end): the last day
    assert "DE02 1203 0000 0000 2020 51" in text and "BYLADEM1001" in text
    assert "SEPA" not in text
    assert [a.get_content_type() for a in message.iter_attachments()] == ["application/pdf"]


def test_invoice_email_for_sepa_carries_the_pre_notification(app, session, customer_contract, tmp_path):
    contract = customer_contract(locale="en", payment=SEPA)
    run_billing(date(2026, 1, 31))
    [message] = sent(session, tmp_path)["invoice"]
    text = body(message)
    mandate = contract.customer.default_payment_method.mandate_reference
    assert "We will collect €19.90 by SEPA direct debit from your account DE89" in text
    assert "on February 14, 2026." in text  # collection date = due date
    assert f"Mandate reference: {mandate}" in text
    assert "Creditor ID: DE98ZZZ09999999999" in text
    assert "Please transfer" not in text


def test_an_invoice_paid_by_credit_says_there_is_nothing_to_pay(app, session, customer_contract, tmp_path):
    contract = customer_contract(locale="en")
    record_payment(session, customer=contract.customer, amount_minor=5000, currency="EUR",
                   received_on=date(2026, 1, 30), method="invoice")
    session.commit()
    run_billing(date(2026, 1, 31))
    [message] = sent(session, tmp_path)["invoice"]
    assert "There is nothing to pay." in body(message)


def test_each_email_is_owed_once(app, session, customer_contract, tmp_path):
    customer_contract()
    run_billing(date(2026, 1, 31))
    assert outbox.dispatch(session).emails == 2
    session.execute(update(OutboxEvent).values(delivered_at=None))  # as if dispatched again
    session.commit()
    assert outbox.dispatch(session).emails == 0
    assert emails.send_due(session).sent == 2
    assert emails.send_due(session).sent == 0
    assert len(list((tmp_path / "mail").glob("*.eml"))) == 2


def test_old_events_send_no_email(app, session, customer_contract):
    customer_contract()
    session.execute(update(OutboxEvent).values(created_at=datetime.now(timezone.utc) - timedelta(days=4)))
    session.commit()
    result = outbox.dispatch(session)
    assert result.events == 1 and result.emails == 0
    assert session.scalars(select(EmailMessage)).all() == []


def test_a_broken_theme_delays_the_email_instead_of_losing_it(app, session, customer_contract, themes_dir, tmp_path):
    customer_contract()
    outbox.dispatch(session)
    theme = themes_dir / "demo" / "theme.toml"
    good = theme.read_text()
    theme.write_text(good.replace('[brand]', '[brand]\nradius = "round"', 1))
    start = datetime.now(timezone.utc)
    assert emails.send_due(session, now=start).retrying == 1
    theme.write_text(good + "\n")
    assert emails.send_due(session, now=start + timedelta(minutes=1)).sent == 1
    assert len(list((tmp_path / "mail").glob("*.eml"))) == 1
