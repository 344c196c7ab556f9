"""The billing run: invoice every period that has started up to a date. Idempotent.

The date is each tenant's own today (Tenant.today(), in its billing time zone) unless
the caller names one day for all tenants (see tenant_days).

Contracts are read in batches by id and each batch is one transaction: its
invoices, ledger entries, outbox events and the contracts' next billing dates
commit together, so running twice bills nothing twice. On PostgreSQL, two
processes share the work (FOR UPDATE SKIP LOCKED); everywhere, a unique
(contract, period) constraint is the last line of defence.
"""
import logging
from dataclasses import dataclass, field
from datetime import date
from typing import Callable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, selectinload

from ..storage.models import Contract, Customer
from . import discounts, lifecycle
from .invoices import Draft, LineSpec, issue
from .periods import period_end
from .tenant_days import TenantDays

log = logging.getLogger(__name__)
BILLABLE = ("trial", "active", "cancellation_pending", "paused")
RETRIES = 5


@dataclass
class RunResult:
    contracts: int = 0
    invoices: int = 0
    skipped: int = 0  # contracts whose tenant or plan is unavailable right now
    up_to: dict[str, date] = field(default_factory=dict)  # slug -> the day it was billed up to, per tenant looked at


def _plan_name(tenant, contract) -> str:
    plan = tenant.plan(contract.plan_id) if tenant else None
    if plan is None:
        return contract.plan_id
    locale = contract.customer.locale
    return plan.name.get(locale) or plan.name.get(tenant.default_language) or contract.plan_id


def drafts_for(session: Session, contract: Contract, tenant, up_to: date) -> list[Draft]:
    """Every period of the contract that starts on or before `up_to` and is not invoiced yet.

    Advances the contract (period, next billing date, status) as a side effect, and
    carries out what waits for a period end: a scheduled plan change, a pause, the end
    of a cancelled contract, the end of a pause."""
    drafts = []
    while contract.next_billing_date is not None and contract.next_billing_date <= up_to:
        start = contract.next_billing_date
        if contract.status == "paused":
            lifecycle.end_pause(contract)
        if contract.cancel_at and start >= contract.cancel_at:
            lifecycle.end(session, contract)
            break
        if contract.pause_from and start >= contract.pause_from:
            lifecycle.start_pause(contract)
            continue
        if contract.scheduled_plan_id:
            contract.plan_id, contract.price_minor = contract.scheduled_plan_id, contract.scheduled_price_minor
            contract.scheduled_plan_id = contract.scheduled_price_minor = None
        name = _plan_name(tenant, contract)
        end = period_end(start, contract.interval, contract.anchor_day)
        lines = [LineSpec(kind="plan", description=name, price_minor=contract.price_minor, plan_id=contract.plan_id,
                          period_start=start, period_end=end)]
        discount = discounts.line_for(contract, lines[0])  # a retention discount, while periods are left
        if discount is not None:
            lines.append(discount)
        if contract.periods_billed == 0 and contract.setup_fee_minor:
            lines.append(LineSpec(kind="setup_fee", description=f"{name}: setup fee", price_minor=contract.setup_fee_minor,
                                  plan_id=contract.plan_id))
        drafts.append(Draft(tenant=tenant, customer=contract.customer, contract=contract, currency=contract.currency,
                            issue_date=start, lines=lines, period_start=start, period_end=end))
        contract.current_period_start, contract.current_period_end = start, end
        contract.next_billing_date = end
        contract.periods_billed += 1
        if contract.status == "trial":
            contract.status = "active"
    return drafts


def _due(session: Session, up_to: date, after_id: int, batch_size: int) -> list[Contract]:
    stmt = (
        select(Contract)
        .where(Contract.next_billing_date <= up_to, Contract.status.in_(BILLABLE), Contract.id > after_id)
        .order_by(Contract.id)
        .limit(batch_size)
        .options(selectinload(Contract.customer).selectinload(Customer.payment_methods))
        .options(selectinload(Contract.discounts))
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True, of=Contract)
    return list(session.scalars(stmt))


def bill_due(session: Session, tenants: Callable[[str], object | None], up_to: date | None = None,
             batch_size: int = 500) -> RunResult:
    """Bill everything due up to `up_to` for every tenant or, without it, each tenant up to its own today.

    `tenants(slug)` returns the Tenant or None if unavailable."""
    result = RunResult()
    days = TenantDays(up_to)
    after_id = 0
    while True:
        for attempt in range(RETRIES):
            try:
                contracts = _due(session, days.bound, after_id, batch_size)
                drafts, billed, skipped = [], 0, 0
                for contract in contracts:
                    tenant = tenants(contract.tenant)
                    if tenant is None or tenant.billing is None:
                        skipped += 1
                        continue
                    new = drafts_for(session, contract, tenant, days.of(tenant))  # none if due only later there
                    drafts.extend(new)
                    billed += bool(new)
                invoices = issue(session, drafts) if drafts else []
                session.commit()
                break
            except (IntegrityError, OperationalError) as exc:
                # Another process billed some of these contracts, or held the lock too long: read again.
                session.rollback()
                log.warning("billing batch after contract %s retried (%s)", after_id, exc.__class__.__name__)
                if attempt == RETRIES - 1:
                    raise
        if not contracts:
            result.up_to = dict(days.used)
            return result
        result.contracts += billed
        result.invoices += len(invoices)
        result.skipped += skipped
        after_id = contracts[-1].id
        session.expunge_all()  # keep memory flat however many contracts there are
