"""SEPA direct debit export: what goes into the pain.008 file, FRST/RCUR, never twice, events."""
import json
import logging
from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from widget_server.billing.contracts import PaymentChoice
from widget_server.billing.invoices import Draft, LineSpec, issue
from widget_server.billing.ledger import balance, record_payment
from widget_server.payments import sepa
from widget_server.payments.sepa import SepaError, SepaNotConfigured, export
from widget_server.storage.models import AuditEvent, Invoice, OutboxEvent, PaymentMethod, SepaCollection, SepaCollectionItem

from .conftest import (ANNA_IBAN, BERT_IBAN, DEMO_CREDITOR_IBAN, DEMO_CREDITOR_ID, GYM_CREDITOR_ID, read_pain008, sepa_choice,
                       validate)

JAN_12 = date(2026, 1, 12)  # a Monday; the first invoices (issued 1 Jan) are due on Thursday 15 Jan


def count(session, model):
    return session.scalar(select(func.count()).select_from(model))


def invoice_of(session, contract) -> Invoice:
    return session.scalars(select(Invoice).where(Invoice.customer_id == contract.customer_id).order_by(Invoice.id)).first()


def test_the_file_validates_and_debits_the_right_amounts_from_the_right_mandates(session, tenants, customer, bill):
    anna = customer(payment=sepa_choice())
    bert = customer(plan_id="basic", on=date(2025, 12, 18),  # trial ends 1 Jan: 9.90 due 15 Jan
                    payment=sepa_choice(holder="Bert Müller", iban=BERT_IBAN, bic=None))
    bill(date(2026, 1, 1))

    result = export(session, tenants("demo"), up_to=date(2026, 1, 15), today=JAN_12)
    session.commit()

    validate(result.xml)
    doc = read_pain008(result.xml)
    assert doc["namespace"] == "urn:iso:std:iso:20022:tech:xsd:pain.008.001.08"
    assert doc["message_id"] == result.message_id == session.scalar(select(SepaCollection.message_id))
    assert (doc["count"], doc["sum"], doc["initiating_party"]) == (2, "29.80", "Acme Fitness GmbH")
    anna_method, bert_method = anna.customer.default_payment_method, bert.customer.default_payment_method
    anna_invoice, bert_invoice = invoice_of(session, anna), invoice_of(session, bert)
    by_id = {tx["end_to_end_id"]: tx for tx in doc["transactions"]}
    assert by_id[anna_invoice.number] == {
        "end_to_end_id": anna_invoice.number, "remittance": anna_invoice.number, "amount": "19.90", "currency": "EUR",
        "mandate_id": anna_method.mandate_reference, "mandate_signed_on": "2026-01-01",
        "debtor_name": "Anna Berg", "debtor_iban": ANNA_IBAN, "debtor_bic": "COBADEFFXXX",
        "sequence_type": "FRST", "collection_date": "2026-01-15",
        "creditor_id": DEMO_CREDITOR_ID, "creditor_iban": DEMO_CREDITOR_IBAN,
    }
    bert_tx = by_id[bert_invoice.number]
    assert (bert_tx["amount"], bert_tx["mandate_id"], bert_tx["mandate_signed_on"]) == ("9.90", bert_method.mandate_reference, "2025-12-18")
    assert (bert_tx["debtor_name"], bert_tx["debtor_iban"], bert_tx["debtor_bic"]) == ("Bert Muller", BERT_IBAN, None)
    assert {block["local_instrument"] for block in doc["blocks"]} == {"CORE"}

    items = session.scalars(select(SepaCollectionItem).order_by(SepaCollectionItem.invoice_id)).all()
    assert [(i.invoice_id, i.amount_minor, i.sequence_type, i.collection_date, i.end_to_end_id) for i in items] == [
        (anna_invoice.id, 1990, "FRST", date(2026, 1, 15), anna_invoice.number),
        (bert_invoice.id, 990, "FRST", date(2026, 1, 15), bert_invoice.number),
    ]
    stored = session.scalar(select(SepaCollection))
    assert (stored.tenant, stored.transactions, stored.total_minor, stored.schema) == ("demo", 2, 2980, "pain.008.001.08")
    assert stored.xml.encode() == result.xml
    # Exporting starts the collection; the invoice stays open until the money is booked.
    assert session.get(Invoice, anna_invoice.id).status == "open"


def test_first_debit_of_a_mandate_is_frst_every_later_one_rcur(session, tenants, customer, bill):
    customer(payment=sepa_choice())
    bill(date(2026, 1, 1))
    first = export(session, tenants("demo"), up_to=date(2026, 1, 15), today=JAN_12)
    session.commit()
    bill(date(2026, 3, 1))  # invoices due 15 Feb (a Sunday) and 15 Mar (a Sunday)
    second = export(session, tenants("demo"), up_to=date(2026, 2, 15), today=date(2026, 2, 10))
    session.commit()
    third = export(session, tenants("demo"), up_to=date(2026, 3, 15), today=date(2026, 3, 12))
    session.commit()

    assert [tx["sequence_type"] for tx in read_pain008(first.xml)["transactions"]] == ["FRST"]
    for later in (second, third):
        validate(later.xml)
    assert [(tx["sequence_type"], tx["collection_date"]) for tx in read_pain008(second.xml)["transactions"]] == [("RCUR", "2026-02-16")]
    assert [(tx["sequence_type"], tx["collection_date"]) for tx in read_pain008(third.xml)["transactions"]] == [("RCUR", "2026-03-16")]


def test_several_invoices_of_a_new_mandate_in_one_file_are_frst_then_rcur(session, tenants, customer, bill):
    customer(payment=sepa_choice())
    bill(date(2026, 2, 1))  # due 15 Jan and 15 Feb: both overdue on 20 Feb
    result = export(session, tenants("demo"), up_to=date(2026, 2, 20), today=date(2026, 2, 20))
    validate(result.xml)
    txs = read_pain008(result.xml)["transactions"]
    assert sorted((tx["end_to_end_id"], tx["sequence_type"], tx["collection_date"]) for tx in txs) == [
        ("DEMO-2026-000001", "FRST", "2026-02-23"), ("DEMO-2026-000002", "RCUR", "2026-02-23"),
    ]


def test_a_new_mandate_of_the_same_customer_starts_with_frst_again(session, tenants, customer, bill):
    contract = customer(payment=sepa_choice())
    bill(date(2026, 1, 1))
    export(session, tenants("demo"), up_to=date(2026, 1, 15), today=JAN_12)
    session.commit()
    old = contract.customer.default_payment_method
    old.is_default = False
    session.add(PaymentMethod(customer_id=contract.customer_id, kind="sepa", is_default=True, account_holder="Anna Berg",
                              iban=BERT_IBAN, mandate_reference="DEMO-NEWMANDATE01", mandate_signed_on=date(2026, 1, 20)))
    session.commit()
    bill(date(2026, 2, 1))
    result = export(session, tenants("demo"), up_to=date(2026, 2, 15), today=date(2026, 2, 10))
    [tx] = read_pain008(result.xml)["transactions"]
    assert (tx["sequence_type"], tx["mandate_id"], tx["debtor_iban"]) == ("FRST", "DEMO-NEWMANDATE01", BERT_IBAN)


def test_nothing_is_exported_twice(session, tenants, customer, bill):
    customer(payment=sepa_choice())
    bill(date(2026, 1, 1))
    first = export(session, tenants("demo"), up_to=date(2026, 1, 15), today=JAN_12)
    session.commit()
    again = export(session, tenants("demo"), up_to=date(2026, 1, 15), today=date(2026, 1, 13))
    session.commit()
    assert len(first.debits) == 1
    assert again.debits == [] and again.collection is None and again.xml is None
    assert (count(session, SepaCollection), count(session, SepaCollectionItem)) == (1, 1)
    assert session.scalar(select(func.count()).select_from(OutboxEvent).where(OutboxEvent.type == "sepa.collection_exported")) == 1


def test_only_invoices_due_up_to_the_day_are_collected(session, tenants, customer, bill):
    customer(payment=sepa_choice())
    bill(date(2026, 1, 1))  # due 15 Jan
    assert export(session, tenants("demo"), up_to=date(2026, 1, 14), today=JAN_12).debits == []
    assert len(export(session, tenants("demo"), up_to=date(2026, 1, 15), today=JAN_12).debits) == 1


def test_bank_transfer_customers_are_not_collected(session, tenants, customer, bill):
    customer(payment=PaymentChoice(kind="invoice"))
    sepa_customer = customer(payment=sepa_choice())
    bill(date(2026, 1, 1))
    assert count(session, Invoice) == 2
    result = export(session, tenants("demo"), up_to=date(2026, 1, 15), today=JAN_12)
    assert [d.invoice.customer_id for d in result.debits] == [sepa_customer.customer_id]
    assert result.skipped == {}  # not even considered
    assert [tx["end_to_end_id"] for tx in read_pain008(result.xml)["transactions"]] == [invoice_of(session, sepa_customer).number]


def test_other_tenants_invoices_are_not_included(session, tenants, customer, bill, gym):
    demo_customer = customer(payment=sepa_choice())
    customer(tenant=gym, payment=sepa_choice(holder="Gita Gym", iban=BERT_IBAN))
    bill(date(2026, 1, 1))
    demo_export = export(session, tenants("demo"), up_to=date(2026, 1, 15), today=JAN_12)
    gym_export = export(session, tenants(gym), up_to=date(2026, 1, 15), today=JAN_12)
    session.commit()
    demo_doc, gym_doc = read_pain008(demo_export.xml), read_pain008(gym_export.xml)
    assert [tx["end_to_end_id"] for tx in demo_doc["transactions"]] == [invoice_of(session, demo_customer).number]
    assert [(tx["end_to_end_id"], tx["debtor_iban"], tx["creditor_id"]) for tx in gym_doc["transactions"]] == [
        ("GYM-2026-000001", BERT_IBAN, GYM_CREDITOR_ID)]
    assert session.scalars(select(SepaCollection.tenant).order_by(SepaCollection.id)).all() == ["demo", "gym"]


def test_paid_void_and_partly_paid_invoices(session, tenants, customer, bill):
    paid, void, partly = (customer(payment=sepa_choice(holder=name)) for name in ("Paid", "Void", "Partly"))
    bill(date(2026, 1, 1))
    record_payment(session, customer=paid.customer, amount_minor=1990, currency="EUR", received_on=date(2026, 1, 5), method="invoice")
    invoice_of(session, void).status = "void"
    record_payment(session, customer=partly.customer, amount_minor=500, currency="EUR", received_on=date(2026, 1, 5), method="invoice")
    session.commit()
    result = export(session, tenants("demo"), up_to=date(2026, 1, 15), today=JAN_12)
    assert [(tx["debtor_name"], tx["amount"]) for tx in read_pain008(result.xml)["transactions"]] == [("Partly", "14.90")]


def test_credit_in_the_customers_favour_is_used_first(session, tenants, customer, bill):
    contract = customer(payment=sepa_choice())
    other = customer(payment=sepa_choice(holder="Other"))
    bill(date(2026, 2, 1))  # 19.90 due 15 Jan and 19.90 due 15 Feb, for each
    # After the invoices were issued, a goodwill credit of 25.00 that corrects no invoice.
    issue(session, [Draft(tenant=tenants("demo"), customer=contract.customer, currency="EUR", issue_date=date(2026, 2, 5),
                          lines=[LineSpec(kind="credit", description="Goodwill", price_minor=2500)], kind="credit_note")])
    session.commit()
    result = export(session, tenants("demo"), up_to=date(2026, 2, 15), today=date(2026, 2, 10))
    session.commit()
    # 39.80 on invoices minus 25.00 credit: the first invoice is paid by the credit, 14.80 of the second are debited.
    debits = {(d.invoice.customer_id, d.invoice.due_date): d.amount_minor for d in result.debits}
    assert debits == {(contract.customer_id, date(2026, 2, 15)): 1480, (other.customer_id, date(2026, 1, 15)): 1990,
                      (other.customer_id, date(2026, 2, 15)): 1990}
    assert [(u.invoice.due_date, u.amount_minor, u.settles) for u in result.credit] == [
        (date(2026, 1, 15), 1990, True), (date(2026, 2, 15), 510, False)]
    assert result.skipped == {}
    owed = balance(session, contract.customer, today=date(2026, 2, 10))
    assert owed.balance_minor == 1480
    assert [(item.invoice.due_date, item.remaining_minor) for item in owed.open_items] == [(date(2026, 2, 15), 1480)]
    statuses = session.scalars(select(Invoice.status).where(Invoice.customer_id == contract.customer_id, Invoice.kind == "invoice")
                               .order_by(Invoice.id)).all()
    assert statuses == ["paid", "open"]
    assert session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "credit.allocated")) == 2


def test_credit_that_pays_everything_leaves_nothing_to_debit(session, tenants, customer, bill):
    contract = customer(payment=sepa_choice())
    bill(date(2026, 1, 1))
    issue(session, [Draft(tenant=tenants("demo"), customer=contract.customer, currency="EUR", issue_date=date(2026, 1, 5),
                          lines=[LineSpec(kind="credit", description="Goodwill", price_minor=5000)], kind="credit_note")])
    session.commit()
    result = export(session, tenants("demo"), up_to=date(2026, 1, 15), today=JAN_12)
    session.commit()
    assert result.debits == [] and result.collection is None and [u.settles for u in result.credit] == [True]
    assert invoice_of(session, contract).status == "paid"
    assert balance(session, contract.customer, today=JAN_12).balance_minor == 1990 - 5000


def test_invoices_are_collected_on_their_due_date_or_the_next_business_day(session, tenants, customer, bill):
    customer(payment=sepa_choice())
    bill(date(2026, 1, 1))  # due Thursday 15 Jan
    on_due_date = export(session, tenants("demo"), up_to=date(2026, 1, 15), today=date(2026, 1, 14))
    assert on_due_date.debits[0].collection_date == date(2026, 1, 15)
    session.rollback()
    late = export(session, tenants("demo"), up_to=date(2026, 1, 16), today=date(2026, 1, 16))  # a Friday
    assert late.debits[0].collection_date == date(2026, 1, 19)


def test_a_tenant_without_sepa_gets_a_clear_error(session, tenants, customer, bill):
    with pytest.raises(SepaNotConfigured) as info:
        export(session, tenants("fjord"), up_to=date(2026, 1, 15), today=JAN_12)
    message = str(info.value)
    assert "fjord" in message and "payments.sepa.creditor_id is missing" in message and "payments.sepa.creditor_name is missing" in message
    assert count(session, SepaCollection) == 0


def test_a_broken_creditor_id_is_refused(session, tenants, themes_dir):
    from tests.tenants.test_loader import edit
    edit(themes_dir / "demo" / "theme.toml", 'creditor_id = "DE98ZZZ09999999999"', 'creditor_id = "DE97ZZZ09999999999"')
    with pytest.raises(SepaNotConfigured, match="not a valid SEPA creditor identifier"):
        export(session, tenants("demo"), up_to=date(2026, 1, 15), today=JAN_12)


@pytest.mark.parametrize("up_to", [date(2026, 1, 27), date(2027, 1, 1)])
def test_days_too_far_ahead_are_refused(session, tenants, customer, bill, up_to):
    customer(payment=sepa_choice())
    bill(date(2026, 1, 1))
    with pytest.raises(SepaError, match="at most 14 days ahead"):
        export(session, tenants("demo"), up_to=up_to, today=JAN_12)
    assert count(session, SepaCollectionItem) == 0


def test_unusable_mandates_are_left_out_with_a_reason_and_no_full_iban(session, tenants, customer, bill, caplog):
    broken = customer(payment=sepa_choice(holder="Broken", iban="DE00370400440532013000"))
    outside = customer(payment=sepa_choice(holder="Outside", iban="BR1800360305000010009795493C1"))
    good = customer(payment=sepa_choice(holder="Good"))
    bill(date(2026, 1, 1))
    with caplog.at_level(logging.INFO, logger="widget_server.payments"):
        result = export(session, tenants("demo"), up_to=date(2026, 1, 15), today=JAN_12)
    session.commit()
    assert [d.invoice.customer_id for d in result.debits] == [good.customer_id]
    assert result.skipped == {
        invoice_of(session, broken).number: "the IBAN DE00 •••• •••• •••• ••30 00 is not valid",
        invoice_of(session, outside).number: "the IBAN BR18 •••• •••• •••• •••• •••• •93C 1 is outside the SEPA area",
    }
    everything = caplog.text + json.dumps([e.after for e in session.scalars(select(AuditEvent))]) + json.dumps(
        [e.payload for e in session.scalars(select(OutboxEvent))]) + json.dumps(result.skipped)
    for iban in ("DE00370400440532013000", "BR1800360305000010009795493C1", ANNA_IBAN):
        assert iban not in everything
    assert "left out" in caplog.text and result.message_id in caplog.text


def test_an_unused_mandate_expires_after_36_months(session, tenants, customer, bill):
    contract = customer(payment=sepa_choice())
    contract.customer.default_payment_method.mandate_signed_on = date(2022, 12, 1)
    session.commit()
    bill(date(2026, 1, 1))
    result = export(session, tenants("demo"), up_to=date(2026, 1, 15), today=JAN_12)
    assert result.debits == [] and "expired" in next(iter(result.skipped.values()))


def test_audit_and_outbox_events(session, tenants, customer, bill):
    contract = customer(payment=sepa_choice())
    bill(date(2026, 1, 1))
    result = export(session, tenants("demo"), up_to=date(2026, 1, 15), today=JAN_12, actor="merchant")
    session.commit()
    number = invoice_of(session, contract).number
    batch = session.scalar(select(AuditEvent).where(AuditEvent.action == "sepa.collection_exported"))
    assert (batch.tenant, batch.customer_id, batch.actor) == ("demo", None, "merchant")
    assert batch.after["message_id"] == result.message_id and batch.after["invoices"] == [number]
    debit = session.scalar(select(AuditEvent).where(AuditEvent.action == "sepa.debit_scheduled"))
    assert debit.customer_id == contract.customer_id
    assert (debit.after["number"], debit.after["amount_minor"], debit.after["sequence_type"], debit.after["collection_date"]) == (
        number, 1990, "FRST", "2026-01-15")
    assert debit.after["iban"] == "DE89 •••• •••• •••• ••30 00"
    event = session.scalar(select(OutboxEvent).where(OutboxEvent.type == "sepa.collection_exported"))
    assert event.tenant == "demo"
    assert (event.payload["message_id"], event.payload["transactions"], event.payload["total_minor"]) == (result.message_id, 1, 1990)
    assert event.payload["debits"][0]["customer_id"] == contract.customer.public_id
    assert ANNA_IBAN not in json.dumps(event.payload) + json.dumps(batch.after) + json.dumps(debit.after)


def test_pain_008_001_02_can_still_be_chosen(session, tenants, customer, bill):
    customer(payment=sepa_choice())
    bill(date(2026, 1, 1))
    result = export(session, tenants("demo"), up_to=date(2026, 1, 15), today=JAN_12, schema="pain.008.001.02")
    validate(result.xml, "pain.008.001.02")
    doc = read_pain008(result.xml)
    assert doc["namespace"].endswith("pain.008.001.02") and doc["transactions"][0]["debtor_bic"] == "COBADEFFXXX"


def test_an_export_that_fails_writes_nothing(session, tenants, customer, bill, monkeypatch):
    customer(payment=sepa_choice())
    bill(date(2026, 1, 1))
    def invalid(self, validate=True):
        raise sepa.SepaXmlValidationError("the file is broken")

    monkeypatch.setattr(sepa.SepaDD, "export", invalid)
    with pytest.raises(SepaError, match="does not validate"):
        export(session, tenants("demo"), up_to=date(2026, 1, 15), today=JAN_12)
    session.rollback()
    sepa_events = select(func.count()).select_from(AuditEvent).where(AuditEvent.action.like("sepa.%"))
    assert (count(session, SepaCollection), count(session, SepaCollectionItem), session.scalar(sepa_events)) == (0, 0, 0)


def test_two_exports_at_the_same_time_collect_each_invoice_once(app, session, tenants, customer, bill, monkeypatch):
    customer(payment=sepa_choice())
    bill(date(2026, 1, 1))
    real_plan = sepa.plan
    others = []

    def plan_while_another_export_commits(*args, **kwargs):
        planned = real_plan(*args, **kwargs)
        if not others:  # the other export runs (and commits) between our reading and our writing
            others.append(None)
            with Session(app.extensions["database"], expire_on_commit=False) as other:
                others[0] = export(other, tenants("demo"), up_to=date(2026, 1, 15), today=JAN_12)
                other.commit()
        return planned

    monkeypatch.setattr(sepa, "plan", plan_while_another_export_commits)
    with pytest.raises(SepaError, match="at the same time"):
        export(session, tenants("demo"), up_to=date(2026, 1, 15), today=JAN_12)
    session.rollback()
    assert len(others[0].debits) == 1
    assert (count(session, SepaCollection), count(session, SepaCollectionItem)) == (1, 1)
