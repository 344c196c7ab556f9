"""Customers and contracts of the calling tenant."""
from flask import g
from flask_smorest import abort
from sqlalchemy import select

from ..extensions import db
from ..storage.queries import by_public_id
from ..storage.models import Contract, Customer
from . import bp, problem_response
from .auth import documented_401
from .schemas import ContractOut, CustomerList, CustomerOut, CustomerQuery



@bp.get("/customers/<customer_id>")
@bp.response(200, CustomerOut)
@documented_401
@problem_response(404, "No such customer for this tenant")
def get_customer(customer_id: str):
    """A customer with their contracts and payment methods."""
    customer = by_public_id(db.session, Customer, g.api_tenant, customer_id)
    if customer is None:
        abort(404, message="No such customer.")
    return customer


@bp.get("/customers")
@bp.arguments(CustomerQuery, location="query")
@bp.response(200, CustomerList)
@documented_401
def list_customers(query):
    """Customers of this tenant, newest first; filter by e-mail address (case-insensitive)."""
    stmt = select(Customer).where(Customer.tenant == g.api_tenant)
    if query.get("email"):
        stmt = stmt.where(Customer.email == query["email"].strip().lower())
    stmt = stmt.order_by(Customer.id.desc()).limit(query["limit"])
    return {"data": list(db.session.scalars(stmt))}


@bp.get("/contracts/<contract_id>")
@bp.response(200, ContractOut)
@documented_401
@problem_response(404, "No such contract for this tenant")
def get_contract(contract_id: str):
    """One contract."""
    contract = by_public_id(db.session, Contract, g.api_tenant, contract_id)
    if contract is None:
        abort(404, message="No such contract.")
    return contract
