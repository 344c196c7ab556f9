"""Starting a contract: customer, contract, payment method, audit and outbox in one transaction."""
import secrets
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..storage.models import AuditEvent, Contract, Customer, OutboxEvent, PaymentMethod
from .money import from_minor, to_minor
from .periods import add_months, period_end, trial_end

MANDATE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


@dataclass(frozen=True)
class PaymentChoice:
    kind: str  # invoice | sepa
    account_holder: str | None = None
    iban: str | None = None
    bic: str | None = None


def mandate_reference(tenant: str) -> str:
    """A SEPA mandate reference: tenant prefix and 12 random characters (max 35 allowed)."""
    prefix = "".join(ch for ch in tenant.upper() if ch.isalnum())[:10] or "WS"
    return f"{prefix}-{''.join(secrets.choice(MANDATE_ALPHABET) for _ in range(12))}"


def find_by_signup_key(session: Session, tenant: str, signup_key: str) -> Contract | None:
    customer = session.scalar(select(Customer).where(Customer.tenant == tenant, Customer.signup_key == signup_key))
    return customer.contracts[0] if customer and customer.contracts else None


def start_contract(
    session: Session, *, tenant: str, plan, email: str, locale: str, fields: dict,
    payment: PaymentChoice, signup_key: str, today: date,
) -> Contract:
    """Create everything a sign-up produces. The caller commits (or rolls back) once."""
    customer = Customer(tenant=tenant, email=email.strip().lower(), locale=locale, fields=fields, signup_key=signup_key)
    trial = trial_end(today, plan.trial_days)
    contract = Contract(
        tenant=tenant, customer=customer, plan_id=plan.id,
        status="trial" if trial else "active",
        price_minor=to_minor(plan.price, plan.currency), currency=plan.currency, interval=plan.interval,
        trial_end=trial, current_period_start=today,
        current_period_end=trial or period_end(today, plan.interval),
        # Trials are invoiced when they end; other contracts from today on, by the next billing run.
        next_billing_date=trial or today, anchor_day=(trial or today).day,
        setup_fee_minor=to_minor(plan.setup_fee, plan.currency),
        minimum_term_end=add_months(today, plan.minimum_term_months) if plan.minimum_term_months else None,
        notice_period_days=plan.notice_period_days,
    )
    method = PaymentMethod(customer=customer, kind=payment.kind, is_default=True)
    if payment.kind == "sepa":
        method.account_holder = payment.account_holder
        method.iban = payment.iban
        method.bic = payment.bic
        method.mandate_reference = mandate_reference(tenant)
        method.mandate_signed_on = today
    session.add_all([customer, contract, method])
    session.flush()
    summary = describe(contract, method)
    session.add(AuditEvent(tenant=tenant, customer_id=customer.id, actor="customer", action="signup.completed", before=None, after=summary))
    session.add(OutboxEvent(tenant=tenant, type="signup.completed", payload={"customer_id": customer.public_id, "email": email, **summary}))
    return contract


def describe(contract: Contract, method: PaymentMethod) -> dict:
    """What audit trail and webhooks say about a new contract (never a full IBAN)."""
    return {
        "contract_id": contract.public_id,
        "plan": contract.plan_id,
        "status": contract.status,
        "price": str(from_minor(contract.price_minor, contract.currency)),
        "currency": contract.currency,
        "interval": contract.interval,
        "current_period_start": contract.current_period_start.isoformat(),
        "current_period_end": contract.current_period_end.isoformat(),
        "trial_end": contract.trial_end.isoformat() if contract.trial_end else None,
        "payment_method": {
            "id": method.public_id,
            "kind": method.kind,
            "iban": method.masked_iban,
            "mandate_reference": method.mandate_reference,
        },
    }
