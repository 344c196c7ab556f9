"""Dunning: one reminder per stage, the merchant told after the last one, nothing twice."""
from datetime import date, timedelta

from sqlalchemy import select

from widget_server.billing.ledger import record_payment
from widget_server.notify import emails
from widget_server.storage.models import AuditEvent, Contract, DunningNotice, EmailMessage, Invoice
from widget_server.worker.jobs import run_billing, run_dunning

from .conftest import outbox_events, read_eml

DUE = date(2026, 2, 14)  # an invoice of 31 January with 14 days' terms


def billed(customer_contract, session, **kwargs):
    contract = customer_contract(**kwargs)
    run_billing(date(2026, 1, 31))
    invoice = session.scalars(select(Invoice).where(Invoice.contract_id == contract.id)).one()
    assert invoice.due_date == DUE
    return contract, invoice


def reminders(session):
    return list(session.scalars(select(EmailMessage).where(EmailMessage.kind == "dunning_reminder")
                                .order_by(EmailMessage.id)))


def test_each_stage_reminds_once_and_the_last_one_tells_the_merchant(app, session, customer_contract):
    contract, invoice = billed(customer_contract, session)
    assert run_dunning(DUE).reminders == 0
    assert run_dunning(DUE + timedelta(days=6)).reminders == 0
    for days, stage in ((7, 1), (14, 2), (28, 3)):
        result = run_dunning(DUE + timedelta(days=days))
        assert result.reminders == 1, days
        assert run_dunning(DUE + timedelta(days=days)).reminders == 0  # the same day again: nothing
        assert run_dunning(DUE + timedelta(days=days + 1)).reminders == 0  # the next day: nothing
        assert reminders(session)[-1].stage == stage
    assert result.exhausted == 1
    assert [m.stage for m in reminders(session)] == [1, 2, 3]
    notices = session.scalars(select(DunningNotice).order_by(DunningNotice.stage)).all()
    assert [(n.stage, n.days_after_due, n.reached_on) for n in notices] == [
        (1, 7, DUE + timedelta(days=7)), (2, 14, DUE + timedelta(days=14)), (3, 28, DUE + timedelta(days=28))]

    [event] = outbox_events(session, "invoice.dunning_exhausted")
    assert event.tenant == "demo"
    assert event.payload["invoice_id"] == invoice.public_id
    assert event.payload["contract_id"] == contract.public_id
    assert event.payload["customer_id"] == contract.customer.public_id
    assert event.payload["outstanding_minor"] == 1990 and event.payload["stages"] == 3
    actions = [a.action for a in session.scalars(select(AuditEvent).where(AuditEvent.actor == "system")
                                                 .order_by(AuditEvent.id))]
    assert actions == ["invoice.reminder_sent"] * 3 + ["invoice.dunning_exhausted"]
    session.expire_all()
    assert session.get(Contract, contract.id).status == "active"  # flagged for the merchant, not ended
    assert run_dunning(DUE + timedelta(days=90)).reminders == 0
    assert len(outbox_events(session, "invoice.dunning_exhausted")) == 1


def test_a_late_run_reminds_once_at_the_latest_stage(app, session, customer_contract):
    billed(customer_contract, session)
    result = run_dunning(DUE + timedelta(days=20))
    assert (result.reminders, result.exhausted) == (1, 0)
    [reminder] = reminders(session)
    assert reminder.stage == 2
    notices = session.scalars(select(DunningNotice).order_by(DunningNotice.stage)).all()
    assert [(n.stage, n.email_message_id) for n in notices] == [(1, None), (2, reminder.id)]


def test_paid_invoices_are_not_reminded(app, session, customer_contract):
    contract, invoice = billed(customer_contract, session)
    record_payment(session, customer=contract.customer, amount_minor=1990, currency="EUR", received_on=DUE,
                   method="invoice")
    session.commit()
    assert run_dunning(DUE + timedelta(days=40)).reminders == 0
    assert reminders(session) == []


def test_a_reminder_for_an_invoice_paid_before_it_was_sent_is_cancelled(app, session, customer_contract, tmp_path):
    contract, invoice = billed(customer_contract, session)
    run_dunning(DUE + timedelta(days=7))
    record_payment(session, customer=contract.customer, amount_minor=1990, currency="EUR",
                   received_on=DUE + timedelta(days=7), method="invoice")
    session.commit()
    assert emails.send_due(session).cancelled == 1
    assert not list((tmp_path / "mail").glob("*dunning_reminder.eml"))


def test_reminder_email_states_what_is_still_owed(app, session, customer_contract, tmp_path):
    contract, invoice = billed(customer_contract, session, locale="de")
    record_payment(session, customer=contract.customer, amount_minor=990, currency="EUR", received_on=DUE,
                   method="invoice", invoice=invoice)
    session.commit()
    run_dunning(DUE + timedelta(days=7))
    emails.send_due(session)
    [path] = (tmp_path / "mail").glob("*dunning_reminder.eml")
    message = read_eml(path)
    assert message["Subject"] == f"Zahlungserinnerung: Rechnung {invoice.number}"
    text = message.get_body(("plain",)).get_content()
    assert "Offener Betrag: 10,00\xa0€" in text
    assert "Bitte überweisen Sie 10,00\xa0€ umgehend" in text
    assert "leider haben wir für die am 14. Februar 2026 fällige Rechnung" in text


def test_the_final_reminder_says_so(app, session, customer_contract, tmp_path):
    billed(customer_contract, session, locale="en")
    run_dunning(DUE + timedelta(days=28))
    emails.send_due(session)
    [path] = (tmp_path / "mail").glob("*dunning_reminder.eml")
    message = read_eml(path)
    assert message["Subject"].startswith("Final reminder: invoice DEMO-2026-")
    assert "This is our final reminder" in message.get_body(("plain",)).get_content()


def test_stages_come_from_the_tenants_theme(app, session, customer_contract, themes_dir):
    theme = themes_dir / "demo" / "theme.toml"
    theme.write_text(theme.read_text().replace("dunning_days = [7, 14, 28]", "dunning_days = [3]"))
    billed(customer_contract, session)
    assert run_dunning(DUE + timedelta(days=2)).reminders == 0
    result = run_dunning(DUE + timedelta(days=3))
    assert (result.reminders, result.exhausted) == (1, 1)


def test_dunning_command_is_idempotent(app, session, customer_contract):
    billed(customer_contract, session)
    runner = app.test_cli_runner()
    day = (DUE + timedelta(days=7)).isoformat()
    first = runner.invoke(args=["dunning", "run", "--date", day])
    assert first.exit_code == 0, first.output
    assert f"dunning as of {day}: 1 reminder(s), 0 invoice(s) past the last stage" in first.stdout
    second = runner.invoke(args=["dunning", "run", "--date", day])
    assert "0 reminder(s)" in second.stdout
    assert len(reminders(session)) == 1
