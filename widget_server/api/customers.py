"""Customers and contracts of the calling tenant."""
from pathlib import Path

from flask import current_app, g
from flask_smorest import abort
from sqlalchemy import select

from ..extensions import db
from ..privacy import erasure
from ..storage.queries import by_public_id
from ..storage.models import Contract, Customer
from . import bp, problem_response
from .auth import documented_401
from .schemas import ContractOut, CustomerList, CustomerOut, CustomerQuery, ErasureOut


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


@bp.delete("/customers/<customer_id>")
@bp.response(200, ErasureOut)
@documented_401
@problem_response(404, "No such customer for this tenant")
def erase_customer(customer_id: str):
    """Erase a customer's personal data (GDPR Art. 17): running contracts end now, and what the law requires
    keeping (invoices, payments, mandate references) is kept and listed in `kept`. Repeating it is harmless."""
    customer = by_public_id(db.session, Customer, g.api_tenant, customer_id)
    if customer is None:
        abort(404, message="No such customer.")
    tenant = current_app.extensions["widget_themes"].get(g.api_tenant)
    result = erasure.erase(db.session, customer, tenant.today())
    db.session.commit()
    mail_dir = Path(current_app.config["WIDGET_MAIL_DIR"])
    for name in result.mail_files:
        (mail_dir / Path(name).name).unlink(missing_ok=True)
    return {**vars(result), "erased": True}


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
