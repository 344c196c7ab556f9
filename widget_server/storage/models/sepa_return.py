"""Returned SEPA direct debits (R-transactions after settlement: returns, refunds to the debtor,
chargebacks). One row per collection item that came back, so the same return is booked once."""
from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..base import Base, UTCDateTime, public_id, utcnow


class SepaReturn(Base):
    __tablename__ = "sepa_return"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True, default=lambda: public_id("sdr"))
    tenant: Mapped[str] = mapped_column(String(64), index=True)
    collection_item_id: Mapped[int] = mapped_column(ForeignKey("sepa_collection_item.id"), unique=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoice.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    payment_method_id: Mapped[int] = mapped_column(ForeignKey("payment_method.id"))
    end_to_end_id: Mapped[str] = mapped_column(String(35))
    reason_code: Mapped[str] = mapped_column(String(4))  # ISO 20022 return reason, e.g. AM04, MD06, AC04
    return_date: Mapped[date] = mapped_column(Date)
    amount_minor: Mapped[int] = mapped_column(Integer)  # the debit that came back
    reversed_minor: Mapped[int] = mapped_column(Integer)  # of it, what had been booked as paid and was reversed
    fee_minor: Mapped[int] = mapped_column(Integer, default=0)  # the bank's return fee
    fee_charged: Mapped[bool] = mapped_column(Boolean, default=False)  # passed on to the customer
    mandate_revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    collect_again: Mapped[bool] = mapped_column(Boolean, default=False)  # the next export may debit the invoice again
    source: Mapped[str] = mapped_column(String(16))  # api | csv | camt.054
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    invoice: Mapped["Invoice"] = relationship()  # noqa: F821
    customer: Mapped["Customer"] = relationship()  # noqa: F821
    item: Mapped["SepaCollectionItem"] = relationship()  # noqa: F821
