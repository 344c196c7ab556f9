"""Merchant API keys: stored as a SHA-256 hash, shown once at creation."""
import hashlib
import secrets
from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from ..base import Base, UTCDateTime, utcnow

KEY_PREFIX = "wsk_"


def hash_key(raw: str) -> str:
    # Keys carry 256 bits of randomness, so a plain hash is enough (no slow KDF needed).
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiKey(Base):
    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(16))  # the last characters, to tell keys apart
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @classmethod
    def generate(cls, tenant: str) -> tuple["ApiKey", str]:
        """A new key and its raw value (which is never stored)."""
        raw = KEY_PREFIX + secrets.token_urlsafe(32)
        return cls(tenant=tenant, key_hash=hash_key(raw), hint=raw[-6:]), raw
