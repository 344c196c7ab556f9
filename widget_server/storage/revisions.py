"""How far one customer's rows have come, read in the same query as the portal session: the key of pages
cached per customer.

Customer, payment method, contract, discount and invoice rows count their updates (`Revised`);
ledger entries are only ever added. So per table the sum of revisions, the highest id and the
row count change whenever anything a customer's page shows may have changed, and reading them
costs a few index lookups instead of loading and rendering everything again.
"""
from sqlalchemy import String, bindparam, cast, func, literal_column, select
from sqlalchemy.orm import Session

from .models import Contract, ContractDiscount, Customer, Invoice, LedgerEntry, PaymentMethod

_contracts = Contract.__table__.c


def _summary(model, owned, *, via=None):
    """The text 'revisions:highest id:count' of the rows `owned` selects (joined to `via`): one scalar subquery."""
    table = model.__table__
    revisions = func.sum(table.c.revision + literal_column("1")) if "revision" in table.c else literal_column("0")
    parts = (func.coalesce(revisions, literal_column("0")), func.coalesce(func.max(table.c.id), literal_column("0")),
             func.count())
    text = cast(parts[0], String)
    for part in parts[1:]:
        text = text + literal_column("':'") + cast(part, String)
    query = select(text).where(owned)
    if via is not None:
        query = query.select_from(table.join(via.__table__))
    return query.correlate_except(*(t.__table__ for t in (model, via) if t is not None)).scalar_subquery()


def stamp_columns(customer_id) -> list:
    """One column per table; `customer_id` is a bound parameter or a column of the enclosing query."""
    return [
        _summary(Customer, Customer.__table__.c.id == customer_id).label("stamp_customer"),
        _summary(PaymentMethod, PaymentMethod.__table__.c.customer_id == customer_id).label("stamp_payment_method"),
        _summary(Contract, _contracts.customer_id == customer_id).label("stamp_contract"),
        _summary(ContractDiscount, _contracts.customer_id == customer_id, via=Contract).label("stamp_discount"),
        _summary(Invoice, Invoice.__table__.c.customer_id == customer_id).label("stamp_invoice"),
        _summary(LedgerEntry, LedgerEntry.__table__.c.customer_id == customer_id).label("stamp_ledger"),
    ]


_STAMP = select(*stamp_columns(bindparam("customer")))


def customer_stamp(session: Session, customer_id: int) -> tuple:
    """Equal stamps mean none of the customer's rows changed in between (within one database)."""
    return tuple(session.connection().execute(_STAMP, {"customer": customer_id}).one())
