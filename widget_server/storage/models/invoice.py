"""The invoice aggregate: invoices and credit notes with their lines, never edited once issued.

Amounts are integer minor units of `currency`. A credit note is an invoice of kind
`credit_note` pointing at the invoice it corrects.
"""
from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..base import Base, JSONType, Revised, UTCDateTime, public_id, utcnow


class Invoice(Revised, Base):
    __tablename__ = "invoice"
    __table_args__ = (
        UniqueConstraint("tenant", "number", name="uq_invoice_tenant_number"),
        # A contract is billed once per period: a second billing run cannot bill it again.
        UniqueConstraint("contract_id", "kind", "period_start", name="uq_invoice_contract_kind_period"),
        Index("ix_invoice_customer_issued", "customer_id", "issue_date"),
        Index("ix_invoice_tenant_status_due", "tenant", "status", "due_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True, default=lambda: public_id("inv"))
    tenant: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"))
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contract.id"))
    number: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(16), default="invoice")  # invoice | credit_note
    status: Mapped[str] = mapped_column(String(8), default="open")  # open | paid | void
    currency: Mapped[str] = mapped_column(String(3))
    net_minor: Mapped[int] = mapped_column(Integer)
    tax_minor: Mapped[int] = mapped_column(Integer)
    gross_minor: Mapped[int] = mapped_column(Integer)
    tax_rate: Mapped[str] = mapped_column(String(8))  # percent as a decimal string, e.g. "19"
    reverse_charge: Mapped[bool] = mapped_column(Boolean, default=False)
    issue_date: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    period_start: Mapped[date | None] = mapped_column(Date)
    period_end: Mapped[date | None] = mapped_column(Date)
    payment_reference: Mapped[str] = mapped_column(String(35))
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("invoice.id"))
    # The buyer and the payment method as they were when the invoice was issued: an issued
    # invoice never changes, whatever the customer edits later.
    buyer: Mapped[dict | None] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    lines: Mapped[list["InvoiceLine"]] = relationship(back_populates="invoice", order_by="InvoiceLine.position",
                                                      cascade="all, delete-orphan")
    customer: Mapped["Customer"] = relationship()  # noqa: F821
    contract: Mapped["Contract | None"] = relationship()  # noqa: F821
    corrects: Mapped["Invoice | None"] = relationship(remote_side=[id])


class InvoiceLine(Base):
    __tablename__ = "invoice_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoice.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))  # plan | setup_fee | proration | credit
    plan_id: Mapped[str | None] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(String(200))
    period_start: Mapped[date | None] = mapped_column(Date)
    period_end: Mapped[date | None] = mapped_column(Date)
    net_minor: Mapped[int] = mapped_column(Integer)
    tax_minor: Mapped[int] = mapped_column(Integer)
    gross_minor: Mapped[int] = mapped_column(Integer)

    invoice: Mapped[Invoice] = relationship(back_populates="lines")


class InvoiceSequence(Base):
    """The last number handed out per tenant and year: the row lock makes numbers gap-free."""

    __tablename__ = "invoice_sequence"

    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer, default=0)
