"""The cancellation confirmation e-mail: owed when a customer cancels in the portal.

The row is written in the transaction of the cancellation (so it is owed exactly when the
cancellation is stored) and rendered at send time in the customer's language. If the
cancellation was withdrawn before the e-mail went out, it is not sent.
"""
import secrets

from flask_babel import gettext
from sqlalchemy.orm import Session

from ..storage.base import utcnow
from ..storage.models import Contract, EmailMessage
from ..tenants.model import pick
from . import emails

KIND = "cancellation_confirmation"


def owe(session: Session, contract: Contract) -> EmailMessage:
    """One confirmation per cancellation request (a contract may be cancelled, withdrawn and cancelled again)."""
    message = EmailMessage(tenant=contract.tenant, kind=KIND, key=f"{KIND}:{contract.public_id}:{secrets.token_hex(6)}",
                           customer_id=contract.customer_id, contract_id=contract.id, recipient=contract.customer.email,
                           next_attempt_at=utcnow())
    session.add(message)
    return message


def compose(session: Session, message: EmailMessage, tenant, customer, context: dict) -> str:
    """Adds the facts to `context` (the customer's locale is in force); returns the subject."""
    contract = session.get(Contract, message.contract_id)
    if contract is None or contract.status != "cancellation_pending" or contract.cancel_at is None:
        raise emails.NothingToSend("the cancellation was withdrawn before the confirmation was sent")
    locale = context["locale"]
    plan = tenant.plan(contract.plan_id)
    reason = tenant.portal.reason(contract.cancellation_reason or "")
    # The shared layout reads contact.email/phone/address strictly; a tenant may give only some of them.
    context["contact"] = {"email": "", "phone": "", "address": "", **context["contact"]}
    context.update(
        plan=(pick(plan.name, locale, tenant.default_language) or plan.id) if plan else contract.plan_id,
        contract_number=contract.public_id, effective=emails.day(contract.cancel_at),
        reason=pick(reason.label, locale, tenant.default_language) if reason else (contract.cancellation_reason or ""),
    )
    return gettext("Your cancellation at %(brand)s", brand=tenant.brand.name)


emails.COMPOSERS[KIND] = compose
