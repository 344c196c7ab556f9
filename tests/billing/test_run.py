"""The billing run over real contracts: periods, numbers, ledger, idempotency."""
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from widget_server.billing.contracts import PaymentChoice, start_contract
from widget_server.billing.run import bill_due
from widget_server.storage.models import Contract, Invoice, LedgerEntry, OutboxEvent

FIELDS = {"first_name": "Anna", "last_name": "Berg", "email": "anna@example.com", "country": "DE"}


@pytest.fixture
def tenants(app):
    registry = app.extensions["widget_themes"]
    yield lambda slug: registry.get(slug)


@pytest.fixture
def sign_up(session, tenants):
    def make(plan_id="pro", on=date(2026, 1, 31), tenant="demo", fields=None, key=None):
        t = tenants(tenant)
        contract = start_contract(session, tenant=tenant, plan=t.plan(plan_id), email="anna@example.com", locale="de",
                                  fields=fields or FIELDS, payment=PaymentChoice(kind="invoice"),
                                  signup_key=key or f"k{on.isoformat()}{plan_id}{tenant}", today=on)
        session.commit()
        return contract
    yield make


def count(session, model):
    return session.scalar(select(func.count()).select_from(model))


def test_monthly_contract_is_billed_per_calendar_period(session, sign_up, tenants):
    contract = sign_up("pro", on=date(2026, 1, 31))
    result = bill_due(session, tenants, date(2026, 3, 31))
    assert (result.contracts, result.invoices) == (1, 3)
    invoices = session.scalars(select(Invoice).order_by(Invoice.id)).all()
    assert [(i.period_start, i.period_end) for i in invoices] == [
        (date(2026, 1, 31), date(2026, 2, 28)), (date(2026, 2, 28), date(2026, 3, 31)), (date(2026, 3, 31), date(2026, 4, 30)),
    ]
    assert [i.number for i in invoices] == ["DEMO-2026-000001", "DEMO-2026-000002", "DEMO-2026-000003"]
    first = invoices[0]
    # 19.90 gross at 19 %: 16.72 net + 3.18 VAT
    assert (first.net_minor, first.tax_minor, first.gross_minor) == (1672, 318, 1990)
    assert first.due_date == date(2026, 2, 14) and first.payment_reference == first.number
    contract = session.get(Contract, contract.id)
    assert contract.next_billing_date == date(2026, 4, 30) and contract.periods_billed == 3


def test_trial_is_billed_when_it_ends(session, sign_up, tenants):
    contract = sign_up("basic", on=date(2026, 5, 1))
    assert bill_due(session, tenants, date(2026, 5, 14)).invoices == 0
    assert bill_due(session, tenants, date(2026, 5, 15)).invoices == 1
    contract = session.get(Contract, contract.id)
    assert contract.status == "active"
    assert (contract.current_period_start, contract.current_period_end) == (date(2026, 5, 15), date(2026, 6, 15))


def test_running_twice_bills_nothing_twice(session, sign_up, tenants):
    sign_up("pro", on=date(2026, 1, 1))
    first = bill_due(session, tenants, date(2026, 6, 30))
    second = bill_due(session, tenants, date(2026, 6, 30))
    assert first.invoices == 6 and second.invoices == 0
    assert count(session, Invoice) == 6
    assert count(session, LedgerEntry) == 6
    assert session.scalar(select(func.count()).select_from(OutboxEvent).where(OutboxEvent.type == "invoice.created")) == 6


def test_numbers_are_per_tenant_and_year(session, sign_up, tenants):
    sign_up("pro", on=date(2026, 12, 1))
    sign_up("mellan", on=date(2026, 12, 1), tenant="fjord")
    bill_due(session, tenants, date(2027, 1, 1))
    numbers = sorted(session.scalars(select(Invoice.number)))
    assert numbers == ["DEMO-2026-000001", "DEMO-2027-000001", "FJORD-2026-000001", "FJORD-2027-000001"]


def test_reverse_charge_for_eu_business_from_another_member_state(session, sign_up, tenants):
    sign_up("pro", on=date(2026, 1, 1), fields={**FIELDS, "vat_id": "ATU13585627"})
    bill_due(session, tenants, date(2026, 1, 1))
    invoice = session.scalar(select(Invoice))
    assert invoice.reverse_charge and invoice.tax_minor == 0
    assert invoice.gross_minor == invoice.net_minor == 1672


def test_domestic_business_pays_vat(session, sign_up, tenants):
    sign_up("pro", on=date(2026, 1, 1), fields={**FIELDS, "vat_id": "DE136695976"})
    bill_due(session, tenants, date(2026, 1, 1))
    invoice = session.scalar(select(Invoice))
    assert not invoice.reverse_charge and invoice.gross_minor == 1990


def test_broken_tenant_is_skipped_not_fatal(session, sign_up, tenants):
    sign_up("pro", on=date(2026, 1, 1))
    result = bill_due(session, lambda slug: None, date(2026, 2, 1))
    assert result.skipped == 1 and count(session, Invoice) == 0
    assert bill_due(session, tenants, date(2026, 2, 1)).invoices == 2
