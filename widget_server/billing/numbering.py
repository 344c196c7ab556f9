"""Invoice numbers: sequential and gap-free per tenant and year, e.g. DEMO-2026-000123.

Numbers are taken in blocks inside the transaction that stores the invoices, by
an atomic UPDATE ... RETURNING on one counter row: a second process waits for
the row lock, and a rollback gives the numbers back, so there is never a gap.
"""
from sqlalchemy import insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..storage.models import InvoiceSequence


def format_number(prefix: str, year: int, number: int) -> str:
    return f"{prefix}-{year}-{number:06d}"


def take(session: Session, tenant: str, year: int, count: int) -> int:
    """Reserve `count` numbers; returns the first. The caller must use all of them."""
    if count < 1:
        raise ValueError("count must be positive")
    stmt = (
        update(InvoiceSequence)
        .where(InvoiceSequence.tenant == tenant, InvoiceSequence.year == year)
        .values(last_number=InvoiceSequence.last_number + count)
        .returning(InvoiceSequence.last_number)
    )
    last = session.execute(stmt).scalar()
    if last is None:
        try:
            with session.begin_nested():
                session.execute(insert(InvoiceSequence).values(tenant=tenant, year=year, last_number=count))
            last = count
        except IntegrityError:  # another process created the year's counter first
            last = session.execute(stmt).scalar_one()
    return last - count + 1
