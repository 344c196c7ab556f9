"""Which of the signed-in customer's contracts a contract page acts on.

Contract pages name the contract by its public id (`?contract=` or a form field).
Another customer's or another tenant's id answers 404, exactly like an id that does
not exist (no hint that it does). On PostgreSQL the row is locked for a change, so a
double click cannot apply the same change twice.
"""
from flask import abort, g, request
from flask_babel import gettext as _
from sqlalchemy import select

from ..billing.errors import BillingError
from ..extensions import db
from ..storage.base import PUBLIC_ID
from ..storage.models import Contract
from ..tenants.model import pick


def own_contract(public_id: str | None, *, for_update: bool = False) -> Contract:
    if not isinstance(public_id, str) or not PUBLIC_ID.match(public_id):
        abort(404)
    stmt = select(Contract).where(Contract.public_id == public_id, Contract.tenant == g.tenant.slug,
                                  Contract.customer_id == g.customer.id)
    if for_update and db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=Contract)
    contract = db.session.scalar(stmt)
    if contract is None:
        abort(404)
    return contract


def chosen(*, for_update: bool = False) -> Contract | None:
    """The contract the request names (form first, then query), None if it names none."""
    public_id = request.form.get("contract") if request.method == "POST" else request.args.get("contract")
    if public_id is None and request.method == "POST":
        public_id = request.args.get("contract")
    return None if public_id is None else own_contract(public_id, for_update=for_update)


def changed_event(done: str | None) -> dict | None:
    """The detail of the `contract-changed` event the page after a change sends to the embedding page
    (embed.js re-emits it as widget:contract-changed), or None when nothing was just changed."""
    public_id = request.args.get("contract")
    if not done or public_id is None:
        return None
    contract = own_contract(public_id)
    return {"contract_id": contract.public_id, "customer_id": g.customer.public_id, "change": done,
            "plan": contract.plan_id, "status": contract.status}


def customer_contracts(*statuses: str) -> list[Contract]:
    """The signed-in customer's contracts in these statuses, oldest first."""
    return [c for c in g.customer.contracts if c.tenant == g.tenant.slug and (not statuses or c.status in statuses)]


def plan_name(plan_id: str | None, locale: str) -> str:
    """A plan's name in the page's language; the id if the theme no longer has the plan."""
    plan = g.tenant.plan(plan_id or "")
    return pick(plan.name, locale, g.tenant.default_language) or plan.id if plan else (plan_id or "")


def refusal(error: BillingError) -> str:
    """What the customer reads when the books refuse a change (billing messages are not translated)."""
    if error.field == "status":
        return _("This is not possible for your contract at the moment.")
    return _("This change is not possible for your contract.")
