"""Refunds: money given back on a paid invoice. The ledger holds the amounts (entries of kind
`refund`, one per payment refunded); this row is what the merchant asked for and how the money
goes back (payouts)."""
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..base import Base, JSONType, UTCDateTime, public_id, utcnow


class Refund(Base):
    __tablename__ = "refund"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True, default=lambda: public_id("re"))
    tenant: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoice.id"), index=True)
    # The credit note that reduces the invoice by the refunded amount (None when the invoice already carried that credit).
    credit_note_id: Mapped[int | None] = mapped_column(ForeignKey("invoice.id"))
    amount_minor: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str | None] = mapped_column(String(200))
    # succeeded (all back through Stripe) | pending (Stripe is still paying out) | to_be_paid_out (the merchant transfers it)
    status: Mapped[str] = mapped_column(String(16))
    # One per payment refunded: {"payment_id", "method", "amount_minor", "status", "stripe_refund_id"}.
    payouts: Mapped[list] = mapped_column(JSONType)
    actor: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    invoice: Mapped["Invoice"] = relationship(foreign_keys=[invoice_id])  # noqa: F821
    credit_note: Mapped["Invoice | None"] = relationship(foreign_keys=[credit_note_id])  # noqa: F821
    customer: Mapped["Customer"] = relationship()  # noqa: F821
