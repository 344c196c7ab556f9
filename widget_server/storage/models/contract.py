"""The contract aggregate: one customer's subscription to one plan."""
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..base import Base, Revised, UTCDateTime, public_id, utcnow


class Contract(Revised, Base):
    __tablename__ = "contract"
    __table_args__ = (
        Index("ix_contract_tenant_status", "tenant", "status"),
        Index("ix_contract_due", "next_billing_date", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True, default=lambda: public_id("con"))
    tenant: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    plan_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(24))  # trial | active | paused | cancellation_pending | ended
    # The price agreed at sign-up, so later theme edits do not reprice running contracts.
    price_minor: Mapped[int] = mapped_column(Integer)  # in the currency's minor units
    currency: Mapped[str] = mapped_column(String(3))
    interval: Mapped[str] = mapped_column(String(8))  # month | year
    trial_end: Mapped[date | None] = mapped_column(Date)
    current_period_start: Mapped[date] = mapped_column(Date)
    current_period_end: Mapped[date] = mapped_column(Date)
    # The first day not yet invoiced; None once the contract no longer bills.
    next_billing_date: Mapped[date | None] = mapped_column(Date)
    # The day of month periods start on, kept across short months (31 Jan -> 28 Feb -> 31 Mar).
    anchor_day: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    setup_fee_minor: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    periods_billed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Terms agreed at sign-up: cancellation takes effect at a period end that respects both.
    minimum_term_end: Mapped[date | None] = mapped_column(Date)
    notice_period_days: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    cancel_at: Mapped[date | None] = mapped_column(Date)
    cancellation_reason: Mapped[str | None] = mapped_column(String(64))
    # A pause starts at a period end (what was paid is used up) and lasts until resume_on.
    pause_from: Mapped[date | None] = mapped_column(Date)
    resume_on: Mapped[date | None] = mapped_column(Date)
    # A downgrade waits for the period end; the billing run applies it.
    scheduled_plan_id: Mapped[str | None] = mapped_column(String(64))
    scheduled_price_minor: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    customer: Mapped["Customer"] = relationship(back_populates="contracts")  # noqa: F821
    discounts: Mapped[list["ContractDiscount"]] = relationship(back_populates="contract", order_by="ContractDiscount.id")  # noqa: F821
