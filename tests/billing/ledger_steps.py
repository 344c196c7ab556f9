"""Steps the ledger's property tests share (billing, refunds, returned debits): each example starts from
empty tables, then bills, pays and refunds in the order hypothesis picks."""
from datetime import date, timedelta

from sqlalchemy import delete, select

from widget_server.billing.errors import BillingError
from widget_server.billing.refunds import refund_invoice
from widget_server.billing.run import bill_due
from widget_server.storage.base import Base
from widget_server.storage.models import Invoice


def empty_tables(session) -> None:
    session.rollback()
    for table in reversed(Base.metadata.sorted_tables):
        session.execute(delete(table))
    session.commit()


def bill_later(session, tenants, today: date, days: int) -> date:
    """Bill everything due `days` after `today`; returns that day."""
    today += timedelta(days=days)
    bill_due(session, tenants, today)
    return today


def refund_newest(session, tenants, today: date, amount_minor: int) -> None:
    """Refund part of the newest invoice, if there is one; a refund the billing core refuses is rolled back."""
    invoice = session.scalars(select(Invoice).where(Invoice.kind == "invoice").order_by(Invoice.id.desc())).first()
    if invoice is None:
        return
    try:
        refund_invoice(session, tenants("demo"), invoice, today=today, amount_minor=amount_minor)
    except BillingError:
        session.rollback()
