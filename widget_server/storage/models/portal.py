"""Portal access: one-time entry tokens recorded on use, and server-side portal sessions."""
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ..base import Base, UTCDateTime, public_id, utcnow


class UsedToken(Base):
    """A one-time token that has been exchanged: a second use finds its id here."""

    __tablename__ = "used_token"

    token_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PortalSession(Base):
    """A customer's signed-in portal visit. The cookie holds a random key; only its hash is stored."""

    __tablename__ = "portal_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    tenant: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Where the portal's "Back to <shop>" link leads (checked against the tenant's allowlist when issued).
    return_url: Mapped[str | None] = mapped_column(String(2000))


class LoginLink(Base):
    """A magic sign-in link sent by e-mail. The link's secret is derived from `public_id` with the
    server's key when the e-mail is written; the database keeps only the secret's hash."""

    __tablename__ = "login_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True, default=lambda: public_id("lnk"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    tenant: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    flow: Mapped[str | None] = mapped_column(String(32))  # the deep link to open after signing in
    return_url: Mapped[str | None] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class EmailChange(Base):
    """A requested change of a customer's e-mail address, waiting for the link sent to the new address."""

    __tablename__ = "email_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True, default=lambda: public_id("emc"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    tenant: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    old_email: Mapped[str] = mapped_column(String(254))
    new_email: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
