"""Retention offers: what a customer about to cancel is offered instead, and accepting one.

The tenant's theme names the offers per cancellation reason (tenants.model.Portal):
a discount for N periods, a pause instead, or a cheaper plan instead. Accepting one
applies it through the usual transition (discounts.grant, lifecycle.pause,
lifecycle.change_plan, each with its own event) and records
`contract.retention_offer_accepted`, so the merchant learns which offer kept whom.
"""
from datetime import date, timedelta

from sqlalchemy.orm import Session

from ..storage.models import Contract
from . import discounts, lifecycle
from .errors import BillingError
from .money import to_minor


def pause_window(contract: Contract, max_days: int) -> tuple[date, date, date]:
    """(first paused day, earliest and latest day billing may resume) for a pause starting now."""
    start = contract.current_period_end
    return start, start + timedelta(days=1), start + timedelta(days=max_days)


def applies(offer, contract: Contract, tenant) -> bool:
    """Whether an offer can be taken up on this contract right now (else it is not shown)."""
    if contract.status not in ("trial", "active"):
        return False
    if offer.type == "discount":
        return bool(offer.percent and offer.periods) and discounts.running(contract) is None
    if offer.type == "pause":
        return tenant.portal.pause_enabled and contract.status == "active" and not contract.pause_from
    if offer.type == "downgrade":
        plan = tenant.plan(offer.plan or "")
        return (plan is not None and plan.id != contract.plan_id and plan.id != contract.scheduled_plan_id
                and plan.currency == contract.currency and plan.interval == contract.interval
                and to_minor(plan.price, plan.currency) < contract.price_minor)
    return False


def offers_for(reason, contract: Contract, tenant) -> list:
    """The reason's offers that apply to this contract, in the theme's order."""
    portal = tenant.portal
    found = [portal.offer(offer_id) for offer_id in (reason.offers if reason else ())]
    return [offer for offer in found if offer is not None and applies(offer, contract, tenant)]


def accept(session: Session, contract: Contract, tenant, reason, offer, today: date, *, resume_on: date | None = None,
           actor: str = "customer") -> dict:
    """Apply an offer the customer accepted instead of cancelling. The caller commits (or rolls back) once."""
    if reason is None or offer is None or offer.id not in reason.offers:
        raise BillingError("This offer is not available for this reason.", field="offer")
    if not applies(offer, contract, tenant):
        raise BillingError("This offer is no longer available for this contract.", field="offer")
    portal = tenant.portal
    detail: dict = {"offer": offer.id, "type": offer.type, "reason": reason.id}
    if offer.type == "discount":
        granted = discounts.grant(session, contract, percent=offer.percent, periods=offer.periods, source=offer.id,
                                  actor=actor)
        detail.update(percent=granted.percent, periods=granted.periods, discount_id=granted.public_id)
    elif offer.type == "pause":
        if resume_on is None:
            resume_on = pause_window(contract, portal.pause_max_days)[2]
        lifecycle.pause(session, contract, today, resume_on, max_days=portal.pause_max_days, actor=actor)
        detail.update(pause_from=contract.pause_from.isoformat(), resume_on=resume_on.isoformat())
    else:  # downgrade
        plan = tenant.plan(offer.plan)
        lifecycle.change_plan(session, contract, tenant, plan, today, actor=actor,
                              immediately=True if portal.downgrade == "immediately" else None)
        detail.update(plan=plan.id, effective=("now" if contract.plan_id == plan.id
                                               else contract.current_period_end.isoformat()))
    state = lifecycle._state(contract)
    lifecycle._record(session, contract, actor, "contract.retention_offer_accepted", state, {**state, "retention": detail})
    return detail
