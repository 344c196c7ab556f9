"""Discounts for N periods: the next N invoices of the billing run carry them, the N+1th does not."""
from datetime import date

import pytest
from sqlalchemy import select

from widget_server.billing import discounts, lifecycle
from widget_server.billing.errors import BillingError
from widget_server.billing.run import bill_due
from widget_server.storage.models import AuditEvent, Contract, ContractDiscount, Invoice, OutboxEvent


@pytest.fixture
def active(session, sign_up, tenants):
    """A pro contract (19.90/month, prices include 19 % VAT) started 1 March 2026 and billed for March."""
    contract = sign_up("pro", on=date(2026, 3, 1))
    bill_due(session, tenants, date(2026, 3, 1))
    yield session.get(Contract, contract.id)


def invoices(session):
    return list(session.scalars(select(Invoice).where(Invoice.kind == "invoice").order_by(Invoice.period_start)))


def test_half_price_for_three_periods_then_full_price(session, active, tenants):
    discounts.grant(session, active, percent=50, periods=3, source="half_price")
    session.commit()
    bill_due(session, tenants, date(2026, 7, 1))
    billed = invoices(session)
    assert [i.period_start for i in billed] == [date(2026, m, 1) for m in (3, 4, 5, 6, 7)]
    assert [i.gross_minor for i in billed] == [1990, 995, 995, 995, 1990]
    for invoice in billed[1:4]:
        plan, discount = invoice.lines
        assert (plan.kind, discount.kind) == ("plan", "discount")
        assert discount.gross_minor == -995 and discount.net_minor + discount.tax_minor == -995
        assert discount.period_start == plan.period_start and "-50 %" in discount.description
    assert [line.kind for line in billed[4].lines] == ["plan"]
    assert [line.kind for line in billed[0].lines] == ["plan"]  # granted after March was billed: not retroactive
    stored = session.scalar(select(ContractDiscount))
    assert (stored.periods_applied, stored.periods_left) == (3, 0) and discounts.running(stored.contract) is None


def test_granting_writes_audit_and_outbox(session, active):
    granted = discounts.grant(session, active, percent=20, periods=2, source="loyal", actor="customer")
    session.commit()
    event = session.scalar(select(OutboxEvent).where(OutboxEvent.type == "contract.discount_granted"))
    assert event.payload["contract_id"] == active.public_id
    assert event.payload["after"]["discount"] == {"id": granted.public_id, "percent": 20, "periods": 2,
                                                  "periods_applied": 0, "source": "loyal"}
    audit = session.scalar(select(AuditEvent).where(AuditEvent.action == "contract.discount_granted"))
    assert audit.actor == "customer" and audit.customer_id == active.customer_id


def test_one_discount_at_a_time_and_sane_values(session, active):
    for percent, periods in ((0, 3), (101, 3), (50, 0)):
        with pytest.raises(BillingError):
            discounts.grant(session, active, percent=percent, periods=periods)
    discounts.grant(session, active, percent=50, periods=1)
    with pytest.raises(BillingError) as info:
        discounts.grant(session, active, percent=10, periods=1)
    assert info.value.field == "discount"
    session.commit()
    assert len(session.scalars(select(ContractDiscount)).all()) == 1


def test_no_discount_for_an_ending_contract(session, active):
    lifecycle.request_cancellation(session, active, date(2026, 3, 10))
    with pytest.raises(BillingError):
        discounts.grant(session, active, percent=50, periods=3)


def test_a_pause_does_not_use_up_discounted_periods(session, active, tenants):
    discounts.grant(session, active, percent=50, periods=1)
    lifecycle.pause(session, active, date(2026, 3, 10), resume_on=date(2026, 5, 1))
    session.commit()
    bill_due(session, tenants, date(2026, 6, 1))
    assert [(i.period_start, i.gross_minor) for i in invoices(session)] == [
        (date(2026, 3, 1), 1990), (date(2026, 5, 1), 995), (date(2026, 6, 1), 1990)]


def test_the_discount_follows_a_scheduled_downgrade(session, active, tenants):
    demo = tenants("demo")
    discounts.grant(session, active, percent=50, periods=1)
    lifecycle.change_plan(session, active, demo, demo.plan("basic"), date(2026, 3, 10))
    session.commit()
    bill_due(session, tenants, date(2026, 4, 1))
    april = invoices(session)[-1]
    assert [(line.kind, line.gross_minor) for line in april.lines] == [("plan", 990), ("discount", -495)]


def test_running_the_billing_twice_applies_each_period_once(session, active, tenants):
    discounts.grant(session, active, percent=50, periods=2)
    session.commit()
    bill_due(session, tenants, date(2026, 4, 1))
    bill_due(session, tenants, date(2026, 4, 1))
    assert session.scalar(select(ContractDiscount)).periods_applied == 1
    assert [i.gross_minor for i in invoices(session)] == [1990, 995]


def test_rounding_is_half_up_to_the_cent():
    assert discounts.amount_off(1990, 33) == 657  # 656.7
    assert discounts.amount_off(990, 15) == 149  # 148.5
    assert discounts.amount_off(990, 100) == 990
