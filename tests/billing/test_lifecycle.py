"""Contracts over time: plan changes with proration, pause and resume, cancellation."""
from datetime import date

import pytest
from sqlalchemy import select

from widget_server.billing import lifecycle
from widget_server.billing.errors import BillingError
from widget_server.billing.ledger import balance
from widget_server.billing.run import bill_due
from widget_server.storage.models import AuditEvent, Contract, Invoice, OutboxEvent


@pytest.fixture
def active(session, sign_up, tenants):
    """A pro contract (19.90/month) started 1 March 2026 and billed for March."""
    contract = sign_up("pro", on=date(2026, 3, 1))
    bill_due(session, tenants, date(2026, 3, 1))
    yield session.get(Contract, contract.id)


def events(session, contract):
    return [e.type for e in session.scalars(select(OutboxEvent).where(OutboxEvent.type.like("contract.%")).order_by(OutboxEvent.id))]


def test_upgrade_applies_now_with_day_exact_proration(session, active, tenants):
    demo = tenants("demo")
    # a pricier plan, as a designer might add one
    premium = type(demo.plan("pro"))(id="premium", name={"en": "Premium"}, description={}, price=demo.plan("pro").price * 2,
                                      currency="EUR", interval="month")
    preview = lifecycle.preview_plan_change(active, premium, date(2026, 3, 17))
    # 15 of 31 days left: credit 15/31 of 19.90, charge 15/31 of 39.80
    assert (preview.credit_minor, preview.charge_minor) == (963, 1926)
    lifecycle.change_plan(session, active, demo, premium, date(2026, 3, 17))
    session.commit()
    assert active.plan_id == "premium" and active.price_minor == 3980
    proration = session.scalars(select(Invoice).order_by(Invoice.id.desc())).first()
    assert proration.gross_minor == 1926 - 963
    assert [line.kind for line in proration.lines] == ["proration", "credit"]
    assert events(session, active) == ["contract.plan_changed"]


def test_downgrade_waits_for_the_period_end_and_can_be_withdrawn(session, active, tenants):
    demo = tenants("demo")
    lifecycle.change_plan(session, active, demo, demo.plan("basic"), date(2026, 3, 10))
    assert active.plan_id == "pro" and active.scheduled_plan_id == "basic"
    lifecycle.withdraw_plan_change(session, active)
    assert active.scheduled_plan_id is None
    lifecycle.change_plan(session, active, demo, demo.plan("basic"), date(2026, 3, 10))
    session.commit()
    bill_due(session, tenants, date(2026, 4, 1))
    contract = session.get(Contract, active.id)
    assert contract.plan_id == "basic" and contract.price_minor == 990
    april = session.scalars(select(Invoice).order_by(Invoice.id.desc())).first()
    assert april.gross_minor == 990 and april.period_start == date(2026, 4, 1)
    assert events(session, active) == ["contract.plan_change_scheduled", "contract.plan_change_withdrawn", "contract.plan_change_scheduled"]


def test_no_billing_while_paused(session, active, tenants):
    resume = lifecycle.pause(session, active, date(2026, 3, 10), resume_on=date(2026, 6, 1))
    session.commit()
    assert resume == date(2026, 6, 1)
    bill_due(session, tenants, date(2026, 5, 31))
    contract = session.get(Contract, active.id)
    assert contract.status == "paused"
    assert session.scalar(select(Invoice).where(Invoice.period_start > date(2026, 3, 1))) is None
    bill_due(session, tenants, date(2026, 6, 1))
    contract = session.get(Contract, active.id)
    assert contract.status == "active" and contract.current_period_start == date(2026, 6, 1)
    assert [i.period_start for i in session.scalars(select(Invoice).order_by(Invoice.id))] == [date(2026, 3, 1), date(2026, 6, 1)]


def test_resume_early(session, active, tenants):
    lifecycle.pause(session, active, date(2026, 3, 10), resume_on=None)
    session.commit()
    bill_due(session, tenants, date(2026, 4, 20))
    contract = session.get(Contract, active.id)
    assert contract.status == "paused" and contract.next_billing_date is None
    lifecycle.resume(session, contract, date(2026, 4, 20))
    session.commit()
    bill_due(session, tenants, date(2026, 4, 20))
    assert session.get(Contract, active.id).current_period_end == date(2026, 5, 20)


@pytest.mark.parametrize("resume_on,field", [(date(2026, 3, 20), "resume_on"), (date(2027, 6, 1), "resume_on")])
def test_bad_pauses_are_refused(session, active, resume_on, field):
    with pytest.raises(BillingError) as info:
        lifecycle.pause(session, active, date(2026, 3, 10), resume_on=resume_on)
    assert info.value.field == field and active.pause_from is None


def test_cancellation_honours_notice_and_minimum_term(session, active, tenants):
    active.notice_period_days = 30
    active.minimum_term_end = date(2026, 6, 1)
    assert lifecycle.cancellation_date(active, date(2026, 3, 10)) == date(2026, 6, 1)
    active.minimum_term_end = None
    assert lifecycle.cancellation_date(active, date(2026, 3, 10)) == date(2026, 5, 1)
    active.notice_period_days = 0
    assert lifecycle.cancellation_date(active, date(2026, 3, 10)) == date(2026, 4, 1)


def test_cancel_then_withdraw_then_cancel_and_end(session, active, tenants):
    effective = lifecycle.request_cancellation(session, active, date(2026, 3, 10), reason="too_expensive")
    assert effective == date(2026, 4, 1) and active.status == "cancellation_pending"
    lifecycle.withdraw_cancellation(session, active, date(2026, 3, 11))
    assert active.status == "active" and active.cancel_at is None
    lifecycle.request_cancellation(session, active, date(2026, 3, 12))
    session.commit()
    bill_due(session, tenants, date(2026, 5, 1))
    contract = session.get(Contract, active.id)
    assert contract.status == "ended" and contract.next_billing_date is None
    assert len(session.scalars(select(Invoice)).all()) == 1  # March only
    with pytest.raises(BillingError):
        lifecycle.withdraw_cancellation(session, contract, date(2026, 5, 2))
    assert events(session, active)[-1] == "contract.ended"
    assert session.scalar(select(AuditEvent).where(AuditEvent.action == "contract.ended")).actor == "system"


def test_cancelling_a_trial_ends_it_without_a_bill(session, sign_up, tenants):
    contract = sign_up("basic", on=date(2026, 3, 1))
    assert lifecycle.request_cancellation(session, contract, date(2026, 3, 5)) == date(2026, 3, 15)
    session.commit()
    bill_due(session, tenants, date(2026, 4, 1))
    assert session.get(Contract, contract.id).status == "ended"
    assert balance(session, contract.customer, date(2026, 4, 1)).balance_minor == 0


def test_plan_change_refusals(session, active, tenants):
    demo = tenants("demo")
    with pytest.raises(BillingError):
        lifecycle.change_plan(session, active, demo, demo.plan("pro"), date(2026, 3, 10))
    lifecycle.request_cancellation(session, active, date(2026, 3, 10))
    with pytest.raises(BillingError):
        lifecycle.change_plan(session, active, demo, demo.plan("basic"), date(2026, 3, 10))


def test_immediate_downgrade_gives_a_credit_note_that_the_next_invoice_uses(session, active, tenants):
    demo = tenants("demo")
    lifecycle.change_plan(session, active, demo, demo.plan("basic"), date(2026, 3, 17), immediately=True)
    session.commit()
    note = session.scalars(select(Invoice).order_by(Invoice.id.desc())).first()
    assert note.kind == "credit_note" and note.gross_minor == -(963 - 479)  # 15/31 of 19.90 back, 15/31 of 9.90 due
    assert note.number.startswith("DEMO-2026-")
    bill_due(session, tenants, date(2026, 4, 1))
    april = session.scalars(select(Invoice).order_by(Invoice.id.desc())).first()
    assert april.gross_minor == 990
    owed = balance(session, session.get(Contract, active.id).customer, date(2026, 4, 1))
    assert owed.balance_minor == 1990 - 484 + 990
    assert [item.remaining_minor for item in owed.open_items] == [1990, 990 - 484]
