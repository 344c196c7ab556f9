"""Refunds: a credit note for the amount and the money back, never more than was paid."""
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from tests.billing.ledger_steps import bill_later, empty_tables, refund_newest
from tests.conftest import SIGNUP_FIELDS
from widget_server.billing.contracts import PaymentChoice, start_contract
from widget_server.billing.errors import BillingError
from widget_server.billing.invoices import Draft, LineSpec, issue
from widget_server.billing.ledger import balance, record_payment
from widget_server.billing.refunds import TO_BE_PAID_OUT, refund_invoice
from widget_server.billing.run import bill_due
from widget_server.storage.models import AuditEvent, Invoice, LedgerEntry, OutboxEvent, Payment, Refund

DAY = date(2026, 1, 20)


@pytest.fixture
def paid(session, sign_up, tenants):
    """A pro customer (19.90 a month) whose first invoice was paid by bank transfer."""
    contract = sign_up("pro", on=date(2026, 1, 1))
    bill_due(session, tenants, date(2026, 1, 1))
    invoice = session.scalar(select(Invoice).where(Invoice.customer_id == contract.customer_id))
    record_payment(session, customer=contract.customer, amount_minor=1990, currency="EUR", received_on=date(2026, 1, 10),
                   method="invoice", invoice=invoice)
    session.commit()
    yield invoice


def counts(session):
    return tuple(session.scalar(select(func.count()).select_from(m)) for m in (Refund, LedgerEntry, Invoice, AuditEvent, OutboxEvent))


def test_full_refund_is_a_credit_note_and_money_to_be_paid_out(session, tenants, paid):
    refund = refund_invoice(session, tenants("demo"), paid, today=DAY, reason="Studio closed")
    session.commit()
    assert (refund.amount_minor, refund.status, refund.reason) == (1990, TO_BE_PAID_OUT, "Studio closed")
    note = refund.credit_note
    assert (note.kind, note.corrects_id, note.gross_minor, note.tax_rate) == ("credit_note", paid.id, -1990, "19")
    assert note.net_minor + note.tax_minor == -1990 and note.tax_minor == -318
    assert "Studio closed" in note.lines[0].description
    kinds = session.execute(select(LedgerEntry.kind, LedgerEntry.amount_minor).where(LedgerEntry.invoice_id == paid.id)
                            .order_by(LedgerEntry.id)).all()
    assert kinds == [("invoice", 1990), ("payment", -1990), ("credit", -1990), ("refund", 1990)]
    assert paid.status == "paid"
    assert balance(session, paid.customer, DAY).balance_minor == 0
    [payout] = refund.payouts
    assert (payout["method"], payout["amount_minor"], payout["status"]) == ("invoice", 1990, TO_BE_PAID_OUT)
    audit = session.scalar(select(AuditEvent).where(AuditEvent.action == "invoice.refunded"))
    assert (audit.actor, audit.after["credit_note_number"], audit.after["amount_minor"]) == ("merchant", note.number, 1990)
    event = session.scalar(select(OutboxEvent).where(OutboxEvent.type == "invoice.refunded"))
    assert event.payload["invoice_id"] == paid.public_id and event.payload["customer_id"] == paid.customer.public_id


def test_partial_refunds_up_to_what_was_paid(session, tenants, paid):
    refund_invoice(session, tenants("demo"), paid, today=DAY, amount_minor=500)
    session.commit()
    before = counts(session)
    with pytest.raises(BillingError) as info:
        refund_invoice(session, tenants("demo"), paid, today=DAY, amount_minor=1491)
    session.rollback()
    assert info.value.field == "amount"
    assert str(info.value) == ("At most 14.90 EUR can be refunded on invoice DEMO-2026-000001: 19.90 EUR was paid and "
                               "5.00 EUR of it was refunded or returned already.")
    assert counts(session) == before
    rest = refund_invoice(session, tenants("demo"), paid, today=DAY)  # no amount: everything left
    session.commit()
    assert rest.amount_minor == 1490
    with pytest.raises(BillingError, match="was refunded or returned already"):
        refund_invoice(session, tenants("demo"), paid, today=DAY, amount_minor=1)
    session.rollback()
    assert balance(session, paid.customer, DAY).balance_minor == 0


@pytest.mark.parametrize("amount", [0, -100])
def test_amounts_must_be_positive(session, tenants, paid, amount):
    with pytest.raises(BillingError, match="greater than zero"):
        refund_invoice(session, tenants("demo"), paid, today=DAY, amount_minor=amount)


def test_nothing_paid_nothing_to_refund(session, tenants, sign_up):
    contract = sign_up("pro", on=date(2026, 1, 1))
    bill_due(session, tenants, date(2026, 1, 1))
    session.commit()
    invoice = session.scalar(select(Invoice).where(Invoice.customer_id == contract.customer_id))
    with pytest.raises(BillingError, match="Nothing was paid on invoice DEMO-2026-000001") as info:
        refund_invoice(session, tenants("demo"), invoice, today=DAY)
    assert info.value.field == "invoice_id"


def test_credit_notes_and_void_invoices_are_not_refunded(session, tenants, paid):
    note = refund_invoice(session, tenants("demo"), paid, today=DAY, amount_minor=100).credit_note
    with pytest.raises(BillingError, match="Only invoices can be refunded"):
        refund_invoice(session, tenants("demo"), note, today=DAY)
    paid.status = "void"
    with pytest.raises(BillingError, match="is void"):
        refund_invoice(session, tenants("demo"), paid, today=DAY)


def test_a_credit_note_issued_before_is_paid_out_without_a_second_one(session, tenants, paid):
    issue(session, [Draft(tenant=tenants("demo"), customer=paid.customer, currency="EUR", issue_date=DAY, kind="credit_note",
                          corrects=paid, lines=[LineSpec(kind="credit", description="Goodwill", price_minor=700)])])
    session.commit()
    assert balance(session, paid.customer, DAY).balance_minor == -700
    refund = refund_invoice(session, tenants("demo"), paid, today=DAY, amount_minor=1000)
    session.commit()
    # 7.00 was credited already: the new credit note is for the other 3.00
    assert refund.credit_note.gross_minor == -300
    assert balance(session, paid.customer, DAY).balance_minor == 0


def test_a_reverse_charge_invoice_is_corrected_without_vat(session, tenants, sign_up):
    contract = sign_up("pro", on=date(2026, 1, 1), fields={**SIGNUP_FIELDS, "country": "AT", "vat_id": "ATU13585627"})
    bill_due(session, tenants, date(2026, 1, 1))
    invoice = session.scalar(select(Invoice).where(Invoice.customer_id == contract.customer_id))
    assert invoice.reverse_charge
    record_payment(session, customer=contract.customer, amount_minor=invoice.gross_minor, currency="EUR",
                   received_on=DAY, method="invoice")
    refund = refund_invoice(session, tenants("demo"), invoice, today=DAY)
    session.commit()
    note = refund.credit_note
    assert (note.gross_minor, note.tax_minor, note.reverse_charge) == (-invoice.gross_minor, 0, True)


# --- property: the balance is invoices - payments + refunds -----------------------------------

DB_SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@DB_SETTINGS
@given(steps=st.lists(st.one_of(st.tuples(st.just("bill"), st.integers(min_value=0, max_value=70)),
                                st.tuples(st.just("pay"), st.integers(min_value=1, max_value=6000)),
                                st.tuples(st.just("refund"), st.integers(min_value=1, max_value=3000))), max_size=10))
def test_balance_is_invoices_minus_payments_plus_refunds(session, tenants, steps):
    empty_tables(session)
    start = date(2026, 1, 1)
    contract = start_contract(session, tenant="demo", plan=tenants("demo").plan("pro"), email="p@example.com", locale="en",
                              fields=SIGNUP_FIELDS, payment=PaymentChoice(kind="invoice"), signup_key="refund-property", today=start)
    session.commit()
    today = start
    for kind, value in steps:
        if kind == "bill":
            today = bill_later(session, tenants, today, value)
        elif kind == "pay":
            record_payment(session, customer=contract.customer, amount_minor=value, currency="EUR", received_on=today, method="invoice")
        else:
            refund_newest(session, tenants, today, value)
        session.commit()
    invoiced = session.scalar(select(func.coalesce(func.sum(Invoice.gross_minor), 0)))  # credit notes are negative
    paid = session.scalar(select(func.coalesce(func.sum(Payment.amount_minor), 0)))
    refunded = session.scalar(select(func.coalesce(func.sum(Refund.amount_minor), 0)))
    owed = balance(session, contract.customer, today)
    assert owed.balance_minor == invoiced - paid + refunded
    for invoice in session.scalars(select(Invoice).where(Invoice.kind == "invoice")):
        left = session.scalar(select(func.sum(LedgerEntry.amount_minor)).where(LedgerEntry.invoice_id == invoice.id))
        assert (invoice.status == "open") == (left > 0)
    empty_tables(session)


def test_two_refunds_at_once_give_the_money_back_once(app, session, tenants, paid, database_url):
    """On PostgreSQL the invoice row is locked: the second refund waits for the first and then finds nothing left."""
    if not database_url.startswith("postgresql"):
        pytest.skip("row locks are what PostgreSQL adds; SQLite has one writer at a time anyway")
    import threading
    from sqlalchemy.orm import Session

    engine, demo, invoice_id = app.extensions["database"], tenants("demo"), paid.id
    locked, outcomes = threading.Event(), {}

    def first():
        with Session(engine) as own:
            refund_invoice(own, demo, own.get(Invoice, invoice_id), today=DAY)
            locked.set()
            threading.Event().wait(0.5)  # hold the lock while the second one starts
            own.commit()
            outcomes["first"] = "refunded"

    def second():
        locked.wait(10)
        with Session(engine) as own:
            try:
                refund_invoice(own, demo, own.get(Invoice, invoice_id), today=DAY)
                own.commit()
                outcomes["second"] = "refunded"
            except BillingError as exc:
                outcomes["second"] = str(exc)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert outcomes["first"] == "refunded" and "was refunded or returned already" in outcomes["second"]
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Refund)) == 1
