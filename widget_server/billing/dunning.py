"""Dunning: reminders for open invoices past their due date, at the tenant's stages. Idempotent.

`Billing.dunning_days` (e.g. (7, 14, 28)) are the stages, in days after the due
date. For every open invoice whose due date is past, each stage that has been
reached is recorded once (DunningNotice, unique per invoice and stage) and the
customer is owed one reminder e-mail for it (EmailMessage, sent by the worker).
A run that finds several stages reached at once (say, after the worker was down)
reminds once, at the latest stage, and records the earlier ones as passed over.

When the last stage is reached, the merchant is told: an outbox event
`invoice.dunning_exhausted` (delivered as a webhook) and an audit event. The
contract is not touched; what happens to it is the merchant's decision.

Overdue means overdue in the tenant's time zone: a run without an explicit day takes
each tenant's own today (see tenant_days), as the billing run does.

Each invoice is one transaction: two runs at the same time cannot remind twice
(the second one's insert fails on the unique key and is rolled back).
"""
import logging
from dataclasses import dataclass, field
from datetime import date
from typing import Callable

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..storage.base import utcnow
from ..storage.models import AuditEvent, DunningNotice, EmailMessage, Invoice, LedgerEntry, OutboxEvent
from .tenant_days import TenantDays

log = logging.getLogger(__name__)


@dataclass
class DunningResult:
    reminders: int = 0
    exhausted: int = 0
    skipped: int = 0  # invoices whose tenant is unavailable right now
    as_of: dict[str, date] = field(default_factory=dict)  # slug -> the day it was dunned as of, per tenant looked at


def stages_of(tenant) -> tuple[int, ...]:
    days = tenant.billing.dunning_days if tenant and tenant.billing else ()
    return tuple(sorted({int(d) for d in days if int(d) >= 0}))


def _outstanding(session: Session, invoice_ids: list[int]) -> dict[int, int]:
    rows = session.execute(select(LedgerEntry.invoice_id, func.sum(LedgerEntry.amount_minor))
                           .where(LedgerEntry.invoice_id.in_(invoice_ids)).group_by(LedgerEntry.invoice_id))
    return {invoice_id: int(amount) for invoice_id, amount in rows}


def _overdue(session: Session, day: date, after_id: int, batch_size: int) -> list[Invoice]:
    return list(session.scalars(
        select(Invoice)
        .where(Invoice.status == "open", Invoice.kind == "invoice", Invoice.due_date < day, Invoice.id > after_id)
        .order_by(Invoice.id).limit(batch_size)
    ))


def remind(session: Session, invoice: Invoice, stages: tuple[int, ...], owed_minor: int, day: date) -> tuple[bool, bool]:
    """Record the stages `invoice` has reached by `day`. Returns (reminded, exhausted); the caller commits."""
    overdue_days = (day - invoice.due_date).days
    reached = [number for number, days in enumerate(stages, start=1) if overdue_days >= days]
    if not reached or owed_minor <= 0:
        return False, False
    recorded = set(session.scalars(select(DunningNotice.stage).where(DunningNotice.invoice_id == invoice.id)))
    new = [number for number in reached if number not in recorded]
    if not new:
        return False, False
    latest = new[-1]
    now = utcnow()
    email = EmailMessage(tenant=invoice.tenant, customer_id=invoice.customer_id, kind="dunning_reminder",
                         key=f"dunning_reminder:{invoice.public_id}:{latest}", contract_id=invoice.contract_id,
                         invoice_id=invoice.id, stage=latest, recipient=invoice.customer.email,
                         next_attempt_at=now, created_at=now)
    session.add(email)
    session.flush()
    for number in new:
        session.add(DunningNotice(tenant=invoice.tenant, invoice_id=invoice.id, stage=number,
                                  days_after_due=stages[number - 1], reached_on=day, outstanding_minor=owed_minor,
                                  email_message_id=email.id if number == latest else None, created_at=now))
    facts = {"invoice_id": invoice.public_id, "number": invoice.number, "stage": latest, "stages": len(stages),
             "days_after_due": stages[latest - 1], "outstanding_minor": owed_minor, "currency": invoice.currency,
             "due_date": invoice.due_date.isoformat()}
    session.add(AuditEvent(tenant=invoice.tenant, customer_id=invoice.customer_id, actor="system",
                           action="invoice.reminder_sent", before=None, after=facts, created_at=now))
    exhausted = latest == len(stages)
    if exhausted:
        contract = invoice.contract
        payload = {**facts, "customer_id": invoice.customer.public_id,
                   "contract_id": contract.public_id if contract else None,
                   "contract_status": contract.status if contract else None}
        session.add(AuditEvent(tenant=invoice.tenant, customer_id=invoice.customer_id, actor="system",
                               action="invoice.dunning_exhausted", before=None, after=payload, created_at=now))
        session.add(OutboxEvent(tenant=invoice.tenant, type="invoice.dunning_exhausted", payload=payload, created_at=now))
    return True, exhausted


def remind_overdue(session: Session, tenants: Callable[[str], object | None], day: date | None = None,
                   batch_size: int = 200) -> DunningResult:
    """Record every dunning stage reached by `day` for every tenant or, without it, by each tenant's own today.

    `tenants(slug)` returns the Tenant or None if unavailable."""
    result = DunningResult()
    days = TenantDays(day)
    after_id = 0
    while True:
        invoices = _overdue(session, days.bound, after_id, batch_size)
        if not invoices:
            result.as_of = dict(days.used)
            return result
        owed = _outstanding(session, [invoice.id for invoice in invoices])
        ids = [invoice.id for invoice in invoices]
        session.commit()  # end the read; every invoice below is its own transaction
        for invoice_id in ids:
            invoice = session.get(Invoice, invoice_id, populate_existing=True)
            if invoice is None or invoice.status != "open":
                continue
            tenant = tenants(invoice.tenant)
            if tenant is None or tenant.billing is None:
                result.skipped += 1
                continue
            today = days.of(tenant)
            if invoice.due_date >= today:
                continue  # not overdue yet where the tenant is
            try:
                reminded, exhausted = remind(session, invoice, stages_of(tenant), owed.get(invoice_id, 0), today)
                session.commit()
            except IntegrityError:
                session.rollback()  # another run recorded this stage a moment ago
                log.info("dunning of invoice %s was done by another run", invoice_id)
                continue
            result.reminders += reminded
            result.exhausted += exhausted
        after_id = ids[-1]
        session.expunge_all()
