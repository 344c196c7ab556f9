"""Dunning: which reminder stage of an overdue invoice has been reached, each recorded once."""
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..base import Base, UTCDateTime, utcnow


class DunningNotice(Base):
    """Stage `stage` (1-based) of the tenant's dunning_days for one invoice.

    `email_message_id` is None for a stage that was passed over because a later one was
    already due (a run after a pause reminds once, at the latest stage)."""

    __tablename__ = "dunning_notice"
    __table_args__ = (UniqueConstraint("invoice_id", "stage", name="uq_dunning_notice_invoice_stage"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64))
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoice.id"), index=True)
    stage: Mapped[int] = mapped_column(Integer)
    days_after_due: Mapped[int] = mapped_column(Integer)
    reached_on: Mapped[date] = mapped_column(Date)
    outstanding_minor: Mapped[int] = mapped_column(Integer)
    email_message_id: Mapped[int | None] = mapped_column(ForeignKey("email_message.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
