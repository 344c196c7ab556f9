"""Balances, open items and payments, read from the append-only ledger.

Every entry that concerns an invoice carries its id, so what is still owed on an
invoice is the sum of its entries; payments settle the oldest open items first.
"""
from dataclasses import dataclass
from datetime import date, datetime, timezone

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..storage.models import AuditEvent, Customer, Invoice, LedgerEntry, OutboxEvent, Payment
from .errors import BillingError


@dataclass(frozen=True)
class OpenItem:
    invoice: Invoice
    remaining_minor: int


@dataclass(frozen=True)
class Balance:
    currency: str | None
    balance_minor: int  # positive: the customer owes us; negative: credit in their favour
    overdue_minor: int  # arrears: the part of the balance that is past its due date
    open_items: list[OpenItem]


def open_items(session: Session, customer_id: int) -> list[OpenItem]:
    """Invoices with something left to pay, oldest due first."""
    remaining = (
        select(LedgerEntry.invoice_id, func.sum(LedgerEntry.amount_minor).label("remaining"))
        .where(LedgerEntry.customer_id == customer_id, LedgerEntry.invoice_id.is_not(None))
        .group_by(LedgerEntry.invoice_id)
        .subquery()
    )
    rows = session.execute(
        select(Invoice, remaining.c.remaining)
        .join(remaining, remaining.c.invoice_id == Invoice.id)
        .where(remaining.c.remaining > 0, Invoice.status != "void")
        .order_by(Invoice.due_date, Invoice.id)
    ).all()
    return [OpenItem(invoice=invoice, remaining_minor=int(amount)) for invoice, amount in rows]


def balance(session: Session, customer: Customer, today: date) -> Balance:
    total = session.scalar(select(func.coalesce(func.sum(LedgerEntry.amount_minor), 0)).where(LedgerEntry.customer_id == customer.id))
    items = open_items(session, customer.id)
    currency = next((c.currency for c in customer.contracts), None)
    overdue = sum(item.remaining_minor for item in items if item.invoice.due_date < today)
    return Balance(currency=currency, balance_minor=int(total), overdue_minor=min(overdue, max(int(total), 0)), open_items=items)


def record_payment(
    session: Session, *, customer: Customer, amount_minor: int, currency: str, received_on: date,
    method: str, reference: str | None = None, external_id: str | None = None, invoice: Invoice | None = None,
    actor: str = "merchant",
) -> tuple[Payment, bool]:
    """Book money received. Returns (payment, created); a repeated external id books nothing new.

    Settles `invoice` first if given, then the oldest open items; what is left stays as credit.
    """
    if amount_minor <= 0:
        raise BillingError("The amount must be greater than zero.", field="amount")
    expected = next((c.currency for c in customer.contracts), None)
    if expected and currency != expected:
        raise BillingError(f"This customer is billed in {expected}, not {currency}.", field="currency")
    if invoice is not None and invoice.customer_id != customer.id:
        raise BillingError("The invoice belongs to another customer.", field="invoice_id")
    if external_id:
        existing = session.scalar(select(Payment).where(Payment.tenant == customer.tenant, Payment.external_id == external_id))
        if existing is not None:
            return existing, False
    payment = Payment(tenant=customer.tenant, customer_id=customer.id, method=method, amount_minor=amount_minor,
                      currency=currency, received_on=received_on, reference=reference, external_id=external_id)
    session.add(payment)
    try:
        session.flush()
    except IntegrityError:  # the same external id, booked at this moment by another request
        session.rollback()
        return session.scalar(select(Payment).where(Payment.tenant == customer.tenant, Payment.external_id == external_id)), False
    left = amount_minor
    items = open_items(session, customer.id)
    if invoice is not None:
        items.sort(key=lambda item: item.invoice.id != invoice.id)
    settled = []
    for item in items:
        if left == 0:
            break
        part = min(left, item.remaining_minor)
        session.add(LedgerEntry(tenant=customer.tenant, customer_id=customer.id, kind="payment", amount_minor=-part,
                                currency=currency, invoice_id=item.invoice.id, payment_id=payment.id, booked_on=received_on))
        left -= part
        if part == item.remaining_minor:
            item.invoice.status = "paid"
            item.invoice.paid_at = datetime.now(timezone.utc)
            settled.append(item.invoice.public_id)
    if left:
        session.add(LedgerEntry(tenant=customer.tenant, customer_id=customer.id, kind="payment", amount_minor=-left,
                                currency=currency, payment_id=payment.id, booked_on=received_on))
    summary = {"payment_id": payment.public_id, "amount_minor": amount_minor, "currency": currency,
               "method": method, "settled_invoices": settled, "unallocated_minor": left}
    session.add(AuditEvent(tenant=customer.tenant, customer_id=customer.id, actor=actor, action="payment.received", before=None, after=summary))
    session.add(OutboxEvent(tenant=customer.tenant, type="payment.received", payload={"customer_id": customer.public_id, **summary}))
    return payment, True
