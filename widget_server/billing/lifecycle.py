"""A contract over time: plan changes, pause and resume, cancellation and its withdrawal.

Every transition writes an audit event and an outbox event (the merchant's webhook).
The billing run (run.py) carries out what is scheduled for a period end.
"""
from datetime import date, timedelta

from sqlalchemy.orm import Session

from ..storage.models import AuditEvent, Contract, OutboxEvent
from .errors import BillingError
from .invoices import Draft, LineSpec, issue
from .money import to_minor
from .periods import add_months, period_end
from .proration import Proration, prorate

ACTIVE = ("trial", "active")
MAX_PAUSE_MONTHS = 12


def _record(session: Session, contract: Contract, actor: str, action: str, before: dict, after: dict) -> None:
    session.add(AuditEvent(tenant=contract.tenant, customer_id=contract.customer_id, actor=actor, action=action,
                           before=before, after=after))
    session.add(OutboxEvent(tenant=contract.tenant, type=action, payload={
        "contract_id": contract.public_id, "customer_id": contract.customer.public_id, "before": before, "after": after,
    }))


def _state(contract: Contract) -> dict:
    return {
        "plan": contract.plan_id, "status": contract.status, "price_minor": contract.price_minor,
        "cancel_at": contract.cancel_at.isoformat() if contract.cancel_at else None,
        "pause_from": contract.pause_from.isoformat() if contract.pause_from else None,
        "resume_on": contract.resume_on.isoformat() if contract.resume_on else None,
        "scheduled_plan": contract.scheduled_plan_id,
    }


def _require(contract: Contract, *statuses: str) -> None:
    if contract.status not in statuses:
        raise BillingError(f"Not possible while the contract is {contract.status.replace('_', ' ')}.", field="status")


# -- plan changes ----------------------------------------------------------------------------

def preview_plan_change(contract: Contract, new_plan, today: date) -> Proration:
    """Credit, charge and new recurring price if the change happened today."""
    new_price = to_minor(new_plan.price, new_plan.currency)
    if contract.status == "trial":  # nothing paid yet: the new price simply applies after the trial
        return Proration(effective=today, credit_minor=0, charge_minor=0, new_price_minor=new_price)
    return prorate(contract.price_minor, new_price, contract.current_period_start, contract.current_period_end, today)


def is_upgrade(contract: Contract, new_plan) -> bool:
    return to_minor(new_plan.price, new_plan.currency) > contract.price_minor


def change_plan(session: Session, contract: Contract, tenant, new_plan, today: date, *, immediately: bool | None = None,
                actor: str = "customer") -> Proration | None:
    """Upgrades apply now with a proration invoice; downgrades wait for the period end
    unless `immediately` says otherwise. Returns the proration charged now, if any."""
    _require(contract, *ACTIVE)
    if new_plan.id == contract.plan_id:
        raise BillingError("This is already the current plan.", field="plan")
    if new_plan.currency != contract.currency:
        raise BillingError("Plans in another currency cannot be switched to.", field="plan")
    if new_plan.interval != contract.interval:
        raise BillingError("Switching between monthly and yearly plans is not supported yet.", field="plan")
    before = _state(contract)
    now = is_upgrade(contract, new_plan) if immediately is None else immediately
    if not now:
        contract.scheduled_plan_id = new_plan.id
        contract.scheduled_price_minor = to_minor(new_plan.price, new_plan.currency)
        _record(session, contract, actor, "contract.plan_change_scheduled", before, _state(contract))
        return None
    proration = preview_plan_change(contract, new_plan, today)
    old_name = contract.plan_id
    contract.plan_id = new_plan.id
    contract.price_minor = proration.new_price_minor
    contract.scheduled_plan_id = contract.scheduled_price_minor = None
    if proration.credit_minor or proration.charge_minor:
        # What is due now is invoiced; if the rest of the period costs less than was paid,
        # the difference is a credit note (never an edited invoice).
        sign = 1 if proration.due_minor >= 0 else -1
        end = contract.current_period_end
        lines = [
            LineSpec(kind="proration", description=f"{new_plan.id}: {today.isoformat()} – {end.isoformat()}",
                     price_minor=sign * proration.charge_minor, plan_id=new_plan.id, period_start=today, period_end=end),
            LineSpec(kind="credit", description=f"{old_name}: unused {today.isoformat()} – {end.isoformat()}",
                     price_minor=-sign * proration.credit_minor, plan_id=old_name, period_start=today, period_end=end),
        ]
        issue(session, [Draft(tenant=tenant, customer=contract.customer, contract=None, currency=contract.currency,
                              issue_date=today, lines=lines, period_start=today, period_end=end,
                              kind="invoice" if sign > 0 else "credit_note")])
    _record(session, contract, actor, "contract.plan_changed", before, _state(contract))
    return proration


def withdraw_plan_change(session: Session, contract: Contract, *, actor: str = "customer") -> None:
    if not contract.scheduled_plan_id:
        raise BillingError("No plan change is scheduled.", field="plan")
    before = _state(contract)
    contract.scheduled_plan_id = contract.scheduled_price_minor = None
    _record(session, contract, actor, "contract.plan_change_withdrawn", before, _state(contract))


# -- pause and resume ------------------------------------------------------------------------

def pause(session: Session, contract: Contract, today: date, resume_on: date | None, *, max_months: int = MAX_PAUSE_MONTHS,
          max_days: int | None = None, actor: str = "customer") -> date:
    """Pause from the end of the paid period; returns the day billing resumes (None: until resumed)."""
    _require(contract, "active")
    start = contract.current_period_end
    if resume_on is not None:
        if resume_on <= start:
            raise BillingError("The pause must end after the current period.", field="resume_on")
        if resume_on > add_months(start, max_months):
            raise BillingError(f"A pause may last at most {max_months} months.", field="resume_on")
    if max_days is not None and (resume_on is None or resume_on > start + timedelta(days=max_days)):
        raise BillingError(f"A pause may last at most {max_days} days.", field="resume_on")  # the tenant's limit
    before = _state(contract)
    contract.pause_from, contract.resume_on = start, resume_on
    _record(session, contract, actor, "contract.paused", before, _state(contract))
    return resume_on


def resume(session: Session, contract: Contract, today: date, *, actor: str = "customer") -> date:
    """End a pause (or call off a pause that has not started); returns the next billing date."""
    if contract.status != "paused" and not contract.pause_from:
        raise BillingError("The contract is not paused.", field="status")
    before = _state(contract)
    if contract.status == "paused":
        contract.status = "active"
        contract.next_billing_date = today
        contract.anchor_day = today.day
    contract.pause_from = contract.resume_on = None
    _record(session, contract, actor, "contract.resumed", before, _state(contract))
    return contract.next_billing_date


def start_pause(contract: Contract) -> None:
    """Called by the billing run when a period ends into a pause."""
    contract.status = "paused"
    contract.next_billing_date = contract.resume_on


def end_pause(contract: Contract) -> None:
    """Called by the billing run on the resume date: billing starts again from that day."""
    contract.status = "active"
    contract.anchor_day = contract.resume_on.day
    contract.pause_from = contract.resume_on = None


# -- cancellation ----------------------------------------------------------------------------

def cancellation_date(contract: Contract, today: date) -> date:
    """The earliest period end that respects the notice period and the minimum term."""
    earliest = date.fromordinal(today.toordinal() + contract.notice_period_days)
    if contract.minimum_term_end and contract.minimum_term_end > earliest:
        earliest = contract.minimum_term_end
    end = contract.current_period_end
    while end < earliest:
        end = period_end(end, contract.interval, contract.anchor_day)
    return end


def effective_cancellation(contract: Contract, today: date) -> date:
    """When a cancellation requested today takes effect: a trial at its end, else per cancellation_date."""
    return contract.current_period_end if contract.status == "trial" else cancellation_date(contract, today)


def request_cancellation(session: Session, contract: Contract, today: date, reason: str | None = None, *,
                         actor: str = "customer") -> date:
    _require(contract, "trial", "active", "paused")
    before = _state(contract)
    contract.cancel_at = effective_cancellation(contract, today)
    contract.cancellation_reason = (reason or "")[:64] or None
    contract.status = "cancellation_pending"
    _record(session, contract, actor, "contract.cancellation_requested", before, _state(contract))
    return contract.cancel_at


def withdraw_cancellation(session: Session, contract: Contract, today: date, *, actor: str = "customer") -> None:
    _require(contract, "cancellation_pending")
    if today >= contract.cancel_at:
        raise BillingError("The cancellation has already taken effect.", field="status")
    before = _state(contract)
    contract.status = "trial" if contract.trial_end and today < contract.trial_end else "active"
    contract.cancel_at = contract.cancellation_reason = None
    _record(session, contract, actor, "contract.cancellation_withdrawn", before, _state(contract))


def end(session: Session, contract: Contract) -> None:
    """Called by the billing run when a cancelled contract reaches its end date."""
    before = _state(contract)
    contract.status = "ended"
    contract.next_billing_date = None
    _record(session, contract, "system", "contract.ended", before, _state(contract))
