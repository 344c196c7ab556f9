"""SEPA direct debit collections: one exported pain.008 file per batch, one item per invoice.

An invoice has one collection item per attempt (unique), so no invoice is ever exported twice;
a debit that came back (sepa_return) may be followed by a next attempt.
Whether a mandate was collected before (FRST or RCUR) is read from the items of its payment method.
"""
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..base import Base, UTCDateTime, public_id, utcnow


class SepaCollection(Base):
    """One exported pain.008 message of one tenant (the file is kept, so it can be written again)."""

    __tablename__ = "sepa_collection"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True, default=lambda: public_id("sdd"))
    tenant: Mapped[str] = mapped_column(String(64), index=True)
    message_id: Mapped[str] = mapped_column(String(35), unique=True)  # GrpHdr/MsgId
    schema: Mapped[str] = mapped_column(String(20))  # e.g. pain.008.001.08
    exported_on: Mapped[date] = mapped_column(Date)  # the export day the collection dates were computed from
    due_up_to: Mapped[date] = mapped_column(Date)  # invoices due up to this day were included
    transactions: Mapped[int] = mapped_column(Integer)
    total_minor: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    xml: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    items: Mapped[list["SepaCollectionItem"]] = relationship(back_populates="collection", order_by="SepaCollectionItem.id")


class SepaCollectionItem(Base):
    """One direct debit of one invoice under one mandate."""

    __tablename__ = "sepa_collection_item"
    __table_args__ = (UniqueConstraint("invoice_id", "attempt", name="uq_sepa_collection_item_invoice_attempt"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    collection_id: Mapped[int] = mapped_column(ForeignKey("sepa_collection.id"), index=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoice.id"))
    # 1 for an invoice's first debit; a returned debit may be followed by another one (see payments/sepa_returns.py).
    attempt: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    payment_method_id: Mapped[int] = mapped_column(ForeignKey("payment_method.id"), index=True)
    mandate_reference: Mapped[str] = mapped_column(String(35))
    sequence_type: Mapped[str] = mapped_column(String(4))  # FRST | RCUR
    end_to_end_id: Mapped[str] = mapped_column(String(35))
    amount_minor: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    collection_date: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    collection: Mapped[SepaCollection] = relationship(back_populates="items")
