"""Retention offers: which apply to a contract, and accepting one instead of cancelling."""
from dataclasses import replace
from datetime import date

import pytest
from sqlalchemy import select

from widget_server.billing import retention
from widget_server.billing.errors import BillingError
from widget_server.billing.run import bill_due
from widget_server.storage.models import Contract, ContractDiscount, OutboxEvent


@pytest.fixture
def active(session, sign_up, tenants):
    contract = sign_up("pro", on=date(2026, 3, 1))
    bill_due(session, tenants, date(2026, 3, 1))
    yield session.get(Contract, contract.id)


def events(session):
    return [e.type for e in session.scalars(select(OutboxEvent).where(OutboxEvent.type.like("contract.%")).order_by(OutboxEvent.id))]


def test_offers_follow_the_reason_and_the_contract(session, active, tenants, sign_up):
    demo = tenants("demo")
    expensive, no_time, moving = (demo.portal.reason(r) for r in ("too_expensive", "no_time", "moving"))
    assert [o.id for o in retention.offers_for(expensive, active, demo)] == ["half_price", "downgrade_basic"]
    assert [o.id for o in retention.offers_for(no_time, active, demo)] == ["pause"]
    assert retention.offers_for(moving, active, demo) == []
    trial_basic = sign_up("basic", on=date(2026, 3, 1), key="basic-trial")
    # already on Basic: no downgrade to it; in the trial: no pause
    assert [o.id for o in retention.offers_for(expensive, trial_basic, demo)] == ["half_price"]
    assert retention.offers_for(no_time, trial_basic, demo) == []
    no_pauses = replace(demo, portal=replace(demo.portal, pause_enabled=False))
    assert retention.offers_for(no_time, active, no_pauses) == []


@pytest.mark.parametrize("offer_id, underlying", [
    ("half_price", "contract.discount_granted"), ("downgrade_basic", "contract.plan_change_scheduled"),
])
def test_accepting_writes_the_underlying_event_and_the_acceptance(session, active, tenants, offer_id, underlying):
    demo = tenants("demo")
    detail = retention.accept(session, active, demo, demo.portal.reason("too_expensive"), demo.portal.offer(offer_id),
                              date(2026, 3, 10))
    session.commit()
    assert events(session) == [underlying, "contract.retention_offer_accepted"]
    accepted = session.scalar(select(OutboxEvent).where(OutboxEvent.type == "contract.retention_offer_accepted"))
    assert accepted.payload["after"]["retention"] == detail
    assert detail["offer"] == offer_id and detail["reason"] == "too_expensive"
    assert active.status == "active" and active.cancel_at is None


def test_discount_offer_halves_the_next_three_invoices(session, active, tenants):
    demo = tenants("demo")
    retention.accept(session, active, demo, demo.portal.reason("too_expensive"), demo.portal.offer("half_price"), date(2026, 3, 10))
    session.commit()
    assert session.scalar(select(ContractDiscount)).source == "half_price"


def test_pause_offer_pauses_at_most_the_tenants_days(session, active, tenants):
    demo = tenants("demo")
    reason, offer = demo.portal.reason("no_time"), demo.portal.offer("pause")
    with pytest.raises(BillingError):
        retention.accept(session, active, demo, reason, offer, date(2026, 3, 10), resume_on=date(2026, 7, 1))
    assert active.pause_from is None
    detail = retention.accept(session, active, demo, reason, offer, date(2026, 3, 10))
    assert detail["pause_from"] == "2026-04-01" and detail["resume_on"] == "2026-06-30"  # 90 days
    assert events(session) == ["contract.paused", "contract.retention_offer_accepted"]


def test_immediate_downgrade_policy_applies_to_the_offer(session, active, tenants):
    demo = tenants("demo")
    now = replace(demo, portal=replace(demo.portal, downgrade="immediately"))
    detail = retention.accept(session, active, now, now.portal.reason("too_expensive"), now.portal.offer("downgrade_basic"),
                              date(2026, 3, 10))
    assert active.plan_id == "basic" and detail["effective"] == "now"
    assert events(session) == ["contract.plan_changed", "contract.retention_offer_accepted"]


def test_offers_of_another_reason_are_refused(session, active, tenants):
    demo = tenants("demo")
    with pytest.raises(BillingError):
        retention.accept(session, active, demo, demo.portal.reason("moving"), demo.portal.offer("half_price"), date(2026, 3, 10))
    with pytest.raises(BillingError):
        retention.accept(session, active, demo, demo.portal.reason("too_expensive"), None, date(2026, 3, 10))
    assert events(session) == []
