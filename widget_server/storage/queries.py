"""Lookups every part of the service shares."""
from sqlalchemy import select
from sqlalchemy.orm import Session

from .base import PUBLIC_ID


def by_public_id(session: Session, model, tenant: str, public_id: str):
    """One of a tenant's rows by the id merchants and URLs see, or None.

    Anything that is not shaped like a public id is None without a query (no NUL or
    other junk reaches the database), and another tenant's row is None as well."""
    if not isinstance(public_id, str) or not PUBLIC_ID.match(public_id):
        return None
    return session.scalar(select(model).where(model.public_id == public_id, model.tenant == tenant))
