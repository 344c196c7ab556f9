"""Refunds: giving back money a customer paid on an invoice.

What an accountant expects, and what we book (all in the caller's transaction):
- The invoice is corrected by a credit note for the refunded amount, with the invoice's own tax
  rate (or reverse charge), so revenue and VAT go down by what is given back. Where the invoice
  already carries that much credit (a credit note issued for it earlier), no second credit note
  is issued: only the money goes back.
- The money going back is one ledger entry of kind `refund` per payment refunded (newest payment
  first), on the invoice and naming that payment. Credit note (minus) and refund (plus) cancel
  out: a refund never makes a paid invoice open again, and the balance stays right.
- Only money actually paid on the invoice can be refunded, less what was refunded or returned by
  the bank already. Credit moved onto the invoice (allocation) is not money paid and stays credit.
- How it goes back is the caller's `pay_out(part)`: payments/stripe_refunds.py refunds card
  payments through Stripe; anything else (bank transfer, SEPA) is `to_be_paid_out`: the merchant
  transfers it and the refund says so.
- An audit event and an outbox event `invoice.refunded` (the merchant's webhook).
"""
from dataclasses import dataclass
from datetime import date
from typing import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..storage.models import AuditEvent, Invoice, OutboxEvent, Payment, Refund
from .errors import BillingError
from .invoices import Draft, LineSpec, issue
from .ledger import owed_on, paid_parts, refresh_status, take_back
from .money import from_minor

SUCCEEDED, PENDING, TO_BE_PAID_OUT = "succeeded", "pending", "to_be_paid_out"


@dataclass(frozen=True)
class RefundPart:
    """Part of a refund drawn from one payment on the invoice."""

    payment: Payment
    amount_minor: int
    taken_back_before_minor: int  # of this payment on this invoice, before this refund (keys Stripe's idempotency)


@dataclass(frozen=True)
class RefundPlan:
    invoice: Invoice
    amount_minor: int
    parts: list[RefundPart]
    credit_note_minor: int  # 0 when the invoice already carries the credit


@dataclass(frozen=True)
class Payout:
    """How one part went back: through Stripe (succeeded or pending) or to be paid out by the merchant."""

    payment: Payment
    amount_minor: int
    status: str
    stripe_refund_id: str | None = None


def manual_payout(part: RefundPart) -> Payout:
    """Bank transfers and direct debits are paid back by the merchant's own transfer."""
    return Payout(payment=part.payment, amount_minor=part.amount_minor, status=TO_BE_PAID_OUT)


def _money(minor: int, currency: str) -> str:
    return f"{from_minor(minor, currency)} {currency}"


def plan_refund(session: Session, invoice: Invoice, amount_minor: int | None = None) -> RefundPlan:
    """What refunding `amount_minor` (None: everything refundable) would book; BillingError when it cannot be."""
    if invoice.kind != "invoice":
        raise BillingError("Only invoices can be refunded, not credit notes.", field="invoice_id")
    if invoice.status == "void":
        raise BillingError(f"Invoice {invoice.number} is void; there is nothing to refund.", field="invoice_id")
    parts = paid_parts(session, invoice)
    paid = sum(part.paid_minor for part in parts)
    left = sum(part.left_minor for part in parts)
    if paid == 0:
        raise BillingError(f"Nothing was paid on invoice {invoice.number}, so nothing can be refunded.", field="invoice_id")
    if left == 0:
        raise BillingError(f"Everything paid on invoice {invoice.number} ({_money(paid, invoice.currency)}) was refunded "
                           "or returned already.", field="invoice_id")
    amount = left if amount_minor is None else amount_minor
    if amount <= 0:
        raise BillingError("The amount must be greater than zero.", field="amount")
    if amount > left:
        raise BillingError(f"At most {_money(left, invoice.currency)} can be refunded on invoice {invoice.number}: "
                           f"{_money(paid, invoice.currency)} was paid and {_money(paid - left, invoice.currency)} of it "
                           "was refunded or returned already.", field="amount")
    chosen, rest = [], amount
    for part in parts:
        take = min(rest, part.left_minor)
        if take > 0:
            chosen.append(RefundPart(payment=part.payment, amount_minor=take, taken_back_before_minor=part.taken_back_minor))
            rest -= take
    credit_on_invoice = max(0, -owed_on(session, invoice))
    return RefundPlan(invoice=invoice, amount_minor=amount, parts=chosen, credit_note_minor=max(0, amount - credit_on_invoice))


def status_of(payouts: list[Payout]) -> str:
    statuses = {payout.status for payout in payouts}
    return TO_BE_PAID_OUT if TO_BE_PAID_OUT in statuses else PENDING if PENDING in statuses else SUCCEEDED


def book_refund(session: Session, tenant, plan: RefundPlan, payouts: list[Payout], *, today: date, reason: str | None = None,
                actor: str = "merchant") -> Refund:
    """Credit note, `refund` ledger entries, the Refund row, audit and outbox; the caller commits."""
    invoice = plan.invoice
    reason = (reason or "").strip()[:200] or None
    credit_note = None
    if plan.credit_note_minor:
        description = f"Refund on invoice {invoice.number}" + (f": {reason}" if reason else "")
        [issued] = issue(session, [Draft(tenant=tenant, customer=invoice.customer, currency=invoice.currency, issue_date=today,
                                         lines=[LineSpec(kind="credit", description=description, price_minor=plan.credit_note_minor)],
                                         kind="credit_note", corrects=invoice)])
        credit_note = session.get(Invoice, issued.id)
    for payout in payouts:
        take_back(session, invoice=invoice, payment=payout.payment, amount_minor=payout.amount_minor, kind="refund", booked_on=today)
    refresh_status(session, invoice)
    refund = Refund(
        tenant=invoice.tenant, customer_id=invoice.customer_id, invoice_id=invoice.id,
        credit_note_id=credit_note.id if credit_note else None, amount_minor=plan.amount_minor, currency=invoice.currency,
        reason=reason, status=status_of(payouts), actor=actor,
        payouts=[{"payment_id": p.payment.public_id, "method": p.payment.method, "amount_minor": p.amount_minor,
                  "status": p.status, "stripe_refund_id": p.stripe_refund_id} for p in payouts],
    )
    session.add(refund)
    session.flush()
    facts = {"refund_id": refund.public_id, "invoice_id": invoice.public_id, "number": invoice.number,
             "amount_minor": refund.amount_minor, "currency": refund.currency, "reason": reason, "status": refund.status,
             "credit_note_id": credit_note.public_id if credit_note else None,
             "credit_note_number": credit_note.number if credit_note else None, "payouts": refund.payouts}
    session.add(AuditEvent(tenant=invoice.tenant, customer_id=invoice.customer_id, actor=actor, action="invoice.refunded",
                           before=None, after=facts))
    session.add(OutboxEvent(tenant=invoice.tenant, type="invoice.refunded", payload={"customer_id": invoice.customer.public_id, **facts}))
    return refund


def refund_invoice(session: Session, tenant, invoice: Invoice, *, today: date, amount_minor: int | None = None,
                   reason: str | None = None, actor: str = "merchant",
                   pay_out: Callable[[RefundPart], Payout] = manual_payout) -> Refund:
    """Refund money paid on `invoice`: plan, pay out (Stripe first, so nothing is booked if it refuses), book.

    The invoice row is locked first (PostgreSQL), so two refunds at once cannot both give back the same money."""
    session.execute(select(Invoice.id).where(Invoice.id == invoice.id).with_for_update())
    plan = plan_refund(session, invoice, amount_minor)
    payouts = [pay_out(part) for part in plan.parts]
    return book_refund(session, tenant, plan, payouts, today=today, reason=reason, actor=actor)
