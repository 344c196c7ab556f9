"""Merchant webhooks: endpoints per tenant, one delivery per (event, endpoint), every attempt logged.

The signing secret is kept as given, since signing needs it (it is not a password
we only compare); it is shown once when the endpoint is created and never logged.
"""
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..base import Base, UTCDateTime, public_id, utcnow


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True, default=lambda: public_id("whe"))
    tenant: Mapped[str] = mapped_column(String(64), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:  # never the secret
        return f"<WebhookEndpoint {self.public_id} tenant={self.tenant}>"


class WebhookDelivery(Base):
    """One outbox event for one endpoint: pending until a 2xx answer, failed after the last attempt."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        UniqueConstraint("event_id", "endpoint_id", name="uq_webhook_delivery_event_endpoint"),
        Index("ix_webhook_delivery_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("outbox_event.id"), index=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoint.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending | delivered | failed | cancelled
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    event: Mapped["OutboxEvent"] = relationship()  # noqa: F821
    endpoint: Mapped[WebhookEndpoint] = relationship()
    attempt_log: Mapped[list["WebhookAttempt"]] = relationship(back_populates="delivery", order_by="WebhookAttempt.attempt")


class WebhookAttempt(Base):
    """One HTTP request of a delivery: what came back and how long it took."""

    __tablename__ = "webhook_attempt"
    __table_args__ = (UniqueConstraint("delivery_id", "attempt", name="uq_webhook_attempt_delivery_attempt"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_delivery.id"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)  # 1, 2, ...
    status_code: Mapped[int | None] = mapped_column(Integer)  # None: no HTTP answer (refused, timeout, ...)
    duration_ms: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    delivery: Mapped[WebhookDelivery] = relationship(back_populates="attempt_log")
