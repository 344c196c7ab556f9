"""The customer aggregate: a subscriber of one tenant and their payment methods."""
from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..base import Base, JSONType, Revised, UTCDateTime, public_id, utcnow


class Customer(Revised, Base):
    __tablename__ = "customer"
    __table_args__ = (
        UniqueConstraint("tenant", "signup_key", name="uq_customer_tenant_signup_key"),
        Index("ix_customer_tenant_email", "tenant", "email"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True, default=lambda: public_id("cus"))
    tenant: Mapped[str] = mapped_column(String(64), index=True)
    email: Mapped[str] = mapped_column(String(254))
    locale: Mapped[str] = mapped_column(String(16))
    fields: Mapped[dict] = mapped_column(JSONType, default=dict)
    # The sign-up form's one-time submission id: a resubmit finds the same customer.
    signup_key: Mapped[str | None] = mapped_column(String(64))
    # The customer's id in the tenant's Stripe account (cus_...), once a card was set up there.
    stripe_customer_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    contracts: Mapped[list["Contract"]] = relationship(back_populates="customer", order_by="Contract.id")  # noqa: F821
    payment_methods: Mapped[list["PaymentMethod"]] = relationship(
        back_populates="customer", order_by="PaymentMethod.id"
    )

    @property
    def default_payment_method(self) -> "PaymentMethod | None":
        return next((m for m in self.payment_methods if m.is_default), None)


class PaymentMethod(Revised, Base):
    """How a customer pays: bank transfer against invoices, a SEPA mandate, or a card saved in Stripe."""

    __tablename__ = "payment_method"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True, default=lambda: public_id("pm"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # invoice | sepa | stripe
    is_default: Mapped[bool] = mapped_column(Boolean, default=True)
    account_holder: Mapped[str | None] = mapped_column(String(140))
    iban: Mapped[str | None] = mapped_column(String(34))
    bic: Mapped[str | None] = mapped_column(String(11))
    mandate_reference: Mapped[str | None] = mapped_column(String(35), unique=True)
    mandate_signed_on: Mapped[date | None] = mapped_column(Date)
    # Stripe's id of a card saved for off-session charges (pm_...); never a card number.
    stripe_payment_method_id: Mapped[str | None] = mapped_column(String(255))
    # A SEPA mandate the bank told us is unusable (a return with MD01, MD06, AC04...): never debited again.
    revoked_on: Mapped[date | None] = mapped_column(Date)
    revoked_reason: Mapped[str | None] = mapped_column(String(4))
    # What customers may see of that card again (from Stripe): brand ("visa") and last four digits.
    card_brand: Mapped[str | None] = mapped_column(String(32))
    card_last4: Mapped[str | None] = mapped_column(String(4))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    customer: Mapped[Customer] = relationship(back_populates="payment_methods")

    @property
    def masked_iban(self) -> str | None:
        """The IBAN as customers may see it again: country, check digits and last four."""
        if not self.iban:
            return None
        hidden = "•" * (len(self.iban) - 8)
        masked = self.iban[:4] + hidden + self.iban[-4:]
        return " ".join(masked[i:i + 4] for i in range(0, len(masked), 4))
