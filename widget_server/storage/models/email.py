"""Outgoing e-mails: one row per e-mail we owe a customer, sent (or written to a file) by the worker.

`key` makes each e-mail happen once (e.g. `invoice:inv_...`); the row says what to
send, the text is rendered when it is sent. The Message-ID is made from the public
id, so a repeated send after a crash is recognisable as the same message.
"""
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..base import Base, UTCDateTime, public_id, utcnow


class EmailMessage(Base):
    __tablename__ = "email_message"
    __table_args__ = (
        Index("ix_email_message_due", "status", "next_attempt_at"),
        Index("ix_email_message_customer", "customer_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True, default=lambda: public_id("eml"))
    key: Mapped[str] = mapped_column(String(120), unique=True)
    tenant: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"))
    kind: Mapped[str] = mapped_column(String(32))  # signup_confirmation | invoice | dunning_reminder
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contract.id"))
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoice.id"), index=True)
    stage: Mapped[int | None] = mapped_column(Integer)  # dunning stage, 1-based
    recipient: Mapped[str] = mapped_column(String(254))
    message_id: Mapped[str | None] = mapped_column(String(200))  # the Message-ID header, <public_id@domain>
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending | sent | failed | cancelled
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(500))
    subject: Mapped[str | None] = mapped_column(String(300))  # as sent, in the customer's language
    locale: Mapped[str | None] = mapped_column(String(16))
    transport: Mapped[str | None] = mapped_column(String(8))  # smtp | file
    stored_as: Mapped[str | None] = mapped_column(String(300))  # the .eml file name (file transport)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
