"""Declarative base and column types shared by every model."""
import re
import secrets
from datetime import datetime, timezone

from sqlalchemy import JSON, DateTime, Integer, MetaData, TypeDecorator, literal_column
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JSONType = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


# What public ids look like; anything else cannot exist and must not reach the database
# (PostgreSQL refuses NUL characters in text, for one).
PUBLIC_ID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


def public_id(prefix: str) -> str:
    """An unguessable identifier merchants and URLs see, e.g. cus_3kT9...."""
    return f"{prefix}_{secrets.token_urlsafe(12)}"


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes on every backend (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetime given; use UTC-aware datetimes")
            value = value.astimezone(timezone.utc)
            if dialect.name == "sqlite":
                value = value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Revised:
    """A `revision` that every UPDATE of the row raises by one, in SQL (ORM flushes and bulk updates alike).

    Pages cached per customer (the portal overview) compare the revisions of that customer's rows
    instead of reading and rendering them again; bumping it in the UPDATE itself takes no lock the
    update did not already take."""

    revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0",
                                          onupdate=literal_column("revision") + 1)
