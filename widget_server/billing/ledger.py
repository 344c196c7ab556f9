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


# --- taking money back: refunds and returned direct debits ----------------------------------

TAKEN_BACK = ("refund", "return")  # ledger kinds that undo (part of) a payment booked on an invoice


@dataclass(frozen=True)
class PaidPart:
    """What one payment paid on one invoice, and how much of that went back since."""

    payment: Payment
    paid_minor: int
    taken_back_minor: int  # refunded, or returned by the bank

    @property
    def left_minor(self) -> int:
        return self.paid_minor - self.taken_back_minor


def paid_parts(session: Session, invoice: Invoice) -> list[PaidPart]:
    """The payments booked on `invoice` (credit moved onto it is not a payment), newest first."""
    rows = session.execute(
        select(LedgerEntry.payment_id, LedgerEntry.kind, func.sum(LedgerEntry.amount_minor))
        .where(LedgerEntry.invoice_id == invoice.id, LedgerEntry.payment_id.is_not(None),
               LedgerEntry.kind.in_(("payment", *TAKEN_BACK)))
        .group_by(LedgerEntry.payment_id, LedgerEntry.kind)
    ).all()
    paid: dict[int, int] = {}
    back: dict[int, int] = {}
    for payment_id, kind, amount in rows:
        if kind == "payment":
            paid[payment_id] = paid.get(payment_id, 0) - int(amount)
        else:
            back[payment_id] = back.get(payment_id, 0) + int(amount)
    payments = {p.id: p for p in session.scalars(select(Payment).where(Payment.id.in_(paid)))} if paid else {}
    parts = [PaidPart(payment=payments[pid], paid_minor=amount, taken_back_minor=back.get(pid, 0)) for pid, amount in paid.items()]
    return sorted(parts, key=lambda part: (part.payment.received_on, part.payment.id), reverse=True)


def owed_on(session: Session, invoice: Invoice) -> int:
    """What is still owed on the invoice (negative: the invoice carries credit, e.g. from a credit note)."""
    return int(session.scalar(select(func.coalesce(func.sum(LedgerEntry.amount_minor), 0)).where(LedgerEntry.invoice_id == invoice.id)))


def take_back(session: Session, *, invoice: Invoice, payment: Payment, amount_minor: int, kind: str, booked_on: date) -> None:
    """Append an entry that undoes `amount_minor` of `payment` on `invoice` (kind `refund`: paid
    back to the customer; `return`: the bank took a direct debit back). The amount is owed again
    unless a credit note already reduced the invoice."""
    if kind not in TAKEN_BACK or amount_minor <= 0:
        raise ValueError(f"cannot take back {amount_minor} as {kind!r}")
    session.add(LedgerEntry(tenant=invoice.tenant, customer_id=invoice.customer_id, kind=kind, amount_minor=amount_minor,
                            currency=invoice.currency, invoice_id=invoice.id, payment_id=payment.id, booked_on=booked_on))


def charge(session: Session, *, invoice: Invoice, amount_minor: int, kind: str, booked_on: date) -> None:
    """Append a charge on `invoice` that is no invoice line (a bank's return fee passed on to the customer)."""
    if amount_minor <= 0:
        raise ValueError("a charge must be positive")
    session.add(LedgerEntry(tenant=invoice.tenant, customer_id=invoice.customer_id, kind=kind, amount_minor=amount_minor,
                            currency=invoice.currency, invoice_id=invoice.id, payment_id=None, booked_on=booked_on))


def refresh_status(session: Session, invoice: Invoice) -> str:
    """Open or paid as the ledger says (void stays void): after money went back, an invoice may be open again."""
    if invoice.status == "void" or invoice.kind != "invoice":
        return invoice.status
    session.flush()
    if owed_on(session, invoice) > 0:
        invoice.status, invoice.paid_at = "open", None
    elif invoice.status != "paid":
        invoice.status, invoice.paid_at = "paid", datetime.now(timezone.utc)
    return invoice.status
