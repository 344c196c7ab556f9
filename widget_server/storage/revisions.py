"""How far one customer's rows have come, read in a single query: the key of pages cached per customer.

Customer, payment method, contract, discount and invoice rows count their updates (`Revised`);
ledger entries are only ever added. So the sums of revisions, the highest ids and the row counts
change whenever anything a customer's page shows may have changed, and reading them costs one
indexed query instead of loading and rendering everything again.
"""
from sqlalchemy import bindparam, func, literal, select, union_all
from sqlalchemy.orm import Session

from .models import Contract, ContractDiscount, Customer, Invoice, LedgerEntry, PaymentMethod

_CUSTOMER = bindparam("customer")


def _aggregate(name: str, model, owned):
    revisions = func.sum(model.revision + 1) if hasattr(model, "revision") else literal(0)
    return select(literal(name), func.coalesce(revisions, 0), func.coalesce(func.max(model.id), 0), func.count()).where(owned)


_STAMP = union_all(
    _aggregate("customer", Customer, Customer.id == _CUSTOMER),
    _aggregate("payment_method", PaymentMethod, PaymentMethod.customer_id == _CUSTOMER),
    _aggregate("contract", Contract, Contract.customer_id == _CUSTOMER),
    _aggregate("discount", ContractDiscount,
               ContractDiscount.contract_id.in_(select(Contract.id).where(Contract.customer_id == _CUSTOMER))),
    _aggregate("invoice", Invoice, Invoice.customer_id == _CUSTOMER),
    _aggregate("ledger", LedgerEntry, LedgerEntry.customer_id == _CUSTOMER),
)


def customer_stamp(session: Session, customer_id: int) -> tuple:
    """Equal stamps mean none of the customer's rows changed in between (within one database)."""
    return tuple(sorted(tuple(row) for row in session.execute(_STAMP, {"customer": customer_id})))
