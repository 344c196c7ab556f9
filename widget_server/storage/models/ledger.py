"""The ledger: append-only entries per customer. Positive amounts are owed by the customer
(invoices, refunds paid out), negative ones reduce what is owed (payments, credit notes)."""
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..base import Base, UTCDateTime, public_id, utcnow


class LedgerEntry(Base):
    __tablename__ = "ledger_entry"
    __table_args__ = (Index("ix_ledger_entry_customer", "customer_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"))
    # invoice | payment | credit | refund | allocation (moves credit onto an invoice; a pair sums to zero)
    # | return (a SEPA debit the bank gave back: reverses its payment) | return_fee (the bank's fee, charged on)
    kind: Mapped[str] = mapped_column(String(16))
    amount_minor: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoice.id"), index=True)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payment.id"), index=True)
    booked_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Payment(Base):
    """Money received from a customer (or refunded to them), by any method."""

    __tablename__ = "payment"
    __table_args__ = (Index("ix_payment_tenant_external", "tenant", "external_id", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True, default=lambda: public_id("pay"))
    tenant: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    method: Mapped[str] = mapped_column(String(16))  # invoice (bank transfer) | sepa | stripe
    amount_minor: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    received_on: Mapped[date] = mapped_column(Date)
    reference: Mapped[str | None] = mapped_column(String(140))
    # The bank's or Stripe's id of the payment, so a repeated notification books it once.
    external_id: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
