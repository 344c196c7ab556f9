"""Discounts on a contract: a percentage off the plan price for a number of billing periods.

A row of its own (not columns on the contract) so that every discount a customer
was granted stays on record, with how many periods it has been used for.
"""
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..base import Base, Revised, UTCDateTime, public_id, utcnow


class ContractDiscount(Revised, Base):
    __tablename__ = "contract_discount"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True, default=lambda: public_id("dsc"))
    tenant: Mapped[str] = mapped_column(String(64))
    contract_id: Mapped[int] = mapped_column(ForeignKey("contract.id"), index=True)
    percent: Mapped[int] = mapped_column(Integer)  # 1..100, off the plan line of an invoice
    periods: Mapped[int] = mapped_column(Integer)  # how many billing periods it applies to
    periods_applied: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    source: Mapped[str | None] = mapped_column(String(64))  # e.g. the retention offer's id
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    contract: Mapped["Contract"] = relationship(back_populates="discounts")  # noqa: F821

    @property
    def periods_left(self) -> int:
        return max(self.periods - self.periods_applied, 0)
