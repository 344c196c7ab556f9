"""Card payments through Stripe: a card saved with a SetupIntent, open invoices charged
off-session with PaymentIntents, settled from Stripe's webhooks.

The only module that imports the `stripe` library (DESIGN.md).

Configuration, per tenant, only from the environment (never theme files, never logs):

    WIDGET_STRIPE_SECRET_KEY_<TENANT>      the tenant's secret API key (sk_live_... / sk_test_... / rk_...)
    WIDGET_STRIPE_WEBHOOK_SECRET_<TENANT>  the signing secret (whsec_...) of the endpoint
                                           POST /webhooks/stripe/<tenant> in the tenant's Stripe dashboard
    WIDGET_STRIPE_API_BASE                 Stripe's API address for all tenants (default https://api.stripe.com;
                                           tests point it at a local fake server)

<TENANT> is the tenant slug upper-cased with "-" as "_" (tenant "acme-gym": WIDGET_STRIPE_SECRET_KEY_ACME_GYM).
A tenant has Stripe only when its secret key is set; its webhooks are accepted only when
its webhook secret is set as well.

Flow:
  1. `create_setup_intent` creates the Stripe customer (once) and a SetupIntent for
     off-session use; the page confirms it with Stripe.js (not wired into the sign-up yet).
  2. The webhook `setup_intent.succeeded` saves the card as the customer's default
     PaymentMethod (kind "stripe", only Stripe's pm_... id is stored).
  3. `charge_invoice` / `charge_due` charge what the ledger says is still open on an invoice,
     off-session and confirmed at once; the idempotency key is the invoice's public id and
     the attempt number (1 + failures recorded for the invoice), so a retried request, or two
     runs charging at the same time, get the same PaymentIntent back and never charge twice.
  4. `payment_intent.succeeded` books the payment with billing.ledger.record_payment under the
     PaymentIntent's id (a charge that succeeds at once is booked the same way, so the webhook
     that follows books nothing new); `payment_intent.payment_failed` is recorded as an audit
     event and an `invoice.payment_failed` outbox event, without touching the ledger.
"""
import logging
import os
from dataclasses import dataclass
from datetime import date

import stripe
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..billing.ledger import record_payment
from ..storage.models import AuditEvent, Customer, Invoice, LedgerEntry, OutboxEvent, PaymentMethod
from .base import CollectionResult, PaymentProvider, PaymentSetupError

log = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://api.stripe.com"
SECRET_KEY_VARIABLE = "WIDGET_STRIPE_SECRET_KEY_{}"
WEBHOOK_SECRET_VARIABLE = "WIDGET_STRIPE_WEBHOOK_SECRET_{}"
API_BASE_VARIABLE = "WIDGET_STRIPE_API_BASE"


class StripeNotConfigured(PaymentSetupError):
    """The tenant has no Stripe key (or webhook secret) in the environment."""


class StripeChargeError(RuntimeError):
    """A call to Stripe failed for a reason other than the card (network, API error). No secrets in the message."""


class WebhookRejected(ValueError):
    """A webhook whose signature is missing or does not verify with the tenant's secret."""


def variable_suffix(tenant_slug: str) -> str:
    return tenant_slug.upper().replace("-", "_")


@dataclass(frozen=True)
class StripeAccount:
    tenant: str
    secret_key: str
    webhook_secret: str | None
    api_base: str

    def __repr__(self) -> str:  # never show the secrets in logs or tracebacks
        return f"StripeAccount(tenant={self.tenant!r}, api_base={self.api_base!r})"


def account(tenant_slug: str, environ=None) -> StripeAccount | None:
    """The tenant's Stripe settings from the environment; None when it has no secret key."""
    environ = os.environ if environ is None else environ
    suffix = variable_suffix(tenant_slug)
    key = (environ.get(SECRET_KEY_VARIABLE.format(suffix)) or "").strip()
    if not key:
        return None
    webhook_secret = (environ.get(WEBHOOK_SECRET_VARIABLE.format(suffix)) or "").strip() or None
    api_base = (environ.get(API_BASE_VARIABLE) or "").strip().rstrip("/") or DEFAULT_API_BASE
    return StripeAccount(tenant=tenant_slug, secret_key=key, webhook_secret=webhook_secret, api_base=api_base)


def _require(tenant_slug: str) -> StripeAccount:
    found = account(tenant_slug)
    if found is None:
        raise StripeNotConfigured(f"tenant '{tenant_slug}' has no Stripe account: set "
                                  f"{SECRET_KEY_VARIABLE.format(variable_suffix(tenant_slug))} in the environment")
    return found


def client(found: StripeAccount) -> stripe.StripeClient:
    return stripe.StripeClient(found.secret_key, base_addresses={"api": found.api_base})


class StripeProvider(PaymentProvider):
    kind = "stripe"
    collects = True
    stored_fields = ("stripe_payment_method_id",)

    def configuration_problems(self, tenant) -> list[str]:
        suffix = variable_suffix(tenant.slug)
        found = account(tenant.slug)
        if found is None:
            return [f"{SECRET_KEY_VARIABLE.format(suffix)} is not set in the environment"]
        if not found.webhook_secret:
            return [f"{WEBHOOK_SECRET_VARIABLE.format(suffix)} is not set in the environment"]
        return []

    def prepare(self, method, choice, *, tenant, today: date) -> None:
        # Cards are saved by confirming a SetupIntent (create_setup_intent) and arrive with the
        # setup_intent.succeeded webhook; the sign-up form does not collect them yet.
        raise PaymentSetupError("Card payments cannot be chosen at sign-up yet.")

    def describe(self, method: PaymentMethod) -> dict:
        return {"id": method.public_id, "kind": method.kind}

    def collect(self, session: Session, tenant, *, up_to: date, today: date, actor: str = "system") -> CollectionResult:
        return charge_due(session, tenant, up_to, actor=actor)


# --- setting up a card -------------------------------------------------------------------

def ensure_stripe_customer(session: Session, tenant, customer: Customer) -> str:
    """The customer's id in the tenant's Stripe account, created there on first use."""
    if customer.stripe_customer_id:
        return customer.stripe_customer_id
    found = _require(tenant.slug)
    try:
        created = client(found).v1.customers.create(
            params={"email": customer.email, "preferred_locales": [customer.locale],
                    "metadata": {"customer_id": customer.public_id, "tenant": tenant.slug}},
            options={"idempotency_key": f"customer-{customer.public_id}"},
        )
    except stripe.StripeError as exc:
        raise StripeChargeError(f"Stripe did not create the customer: {type(exc).__name__}") from None
    customer.stripe_customer_id = created.id
    session.flush()
    return created.id


def create_setup_intent(session: Session, tenant, customer: Customer):
    """A SetupIntent to save a card for later off-session charges. The page hands its
    client_secret to Stripe.js; the card arrives with the setup_intent.succeeded webhook."""
    stripe_customer = ensure_stripe_customer(session, tenant, customer)
    try:
        return client(_require(tenant.slug)).v1.setup_intents.create(params={
            "customer": stripe_customer, "usage": "off_session",
            "metadata": {"customer_id": customer.public_id, "tenant": tenant.slug},
        })
    except stripe.StripeError as exc:
        raise StripeChargeError(f"Stripe did not create the SetupIntent: {type(exc).__name__}") from None


def save_card(session: Session, tenant, customer: Customer, payment_method_id: str) -> PaymentMethod:
    """Make a card saved in Stripe the customer's default payment method (once per card)."""
    for method in customer.payment_methods:
        if method.kind == "stripe" and method.stripe_payment_method_id == payment_method_id:
            return method
    before = next(({"id": m.public_id, "kind": m.kind} for m in customer.payment_methods if m.is_default), None)
    for method in customer.payment_methods:
        method.is_default = False
    method = PaymentMethod(customer=customer, kind="stripe", is_default=True, stripe_payment_method_id=payment_method_id)
    session.add(method)
    session.flush()
    session.add(AuditEvent(tenant=tenant.slug, customer_id=customer.id, actor="system", action="payment_method.changed",
                           before=before, after={"id": method.public_id, "kind": "stripe"}))
    return method


# --- charging ------------------------------------------------------------------------------

def open_remainder(session: Session, invoice: Invoice) -> int:
    """What is still owed on the invoice according to the ledger."""
    return int(session.scalar(select(func.coalesce(func.sum(LedgerEntry.amount_minor), 0))
                              .where(LedgerEntry.invoice_id == invoice.id)))


@dataclass(frozen=True)
class ChargeOutcome:
    invoice: str  # invoice number
    status: str  # succeeded | processing | failed | nothing_due | no_card
    payment_intent: str | None = None
    amount_minor: int = 0
    reason: str | None = None


def _failed_attempts(session: Session, invoice: Invoice) -> list[AuditEvent]:
    events = session.scalars(select(AuditEvent).where(AuditEvent.customer_id == invoice.customer_id,
                                                      AuditEvent.action == "invoice.payment_failed")).all()
    return [e for e in events if (e.after or {}).get("invoice_id") == invoice.public_id]


def record_failure(session: Session, tenant_slug: str, invoice: Invoice | None, customer: Customer,
                   payment_intent_id: str, reason: str | None, actor: str = "system") -> bool:
    """Audit and outbox for a failed card payment, once per PaymentIntent. Returns whether it was new."""
    events = session.scalars(select(AuditEvent).where(AuditEvent.customer_id == customer.id,
                                                      AuditEvent.action == "invoice.payment_failed")).all()
    if any((e.after or {}).get("payment_intent") == payment_intent_id for e in events):
        return False
    summary = {"invoice_id": invoice.public_id if invoice else None, "invoice_number": invoice.number if invoice else None,
               "method": "stripe", "payment_intent": payment_intent_id, "reason": reason}
    session.add(AuditEvent(tenant=tenant_slug, customer_id=customer.id, actor=actor, action="invoice.payment_failed",
                           before=None, after=summary))
    session.add(OutboxEvent(tenant=tenant_slug, type="invoice.payment_failed",
                            payload={"customer_id": customer.public_id, **summary}))
    return True


def charge_invoice(session: Session, tenant, invoice: Invoice, *, attempt: int | None = None, actor: str = "system") -> ChargeOutcome:
    """Charge what is still open on `invoice` to the customer's saved card, off-session.

    The caller commits. A charge that succeeds at once is booked right away; the webhook
    that follows finds the payment booked (same PaymentIntent id) and books nothing new."""
    customer = invoice.customer
    method = customer.default_payment_method
    if method is None or method.kind != "stripe" or not method.stripe_payment_method_id or not customer.stripe_customer_id:
        return ChargeOutcome(invoice=invoice.number, status="no_card", reason="the customer has no card saved in Stripe")
    amount = open_remainder(session, invoice)
    if amount <= 0 or invoice.status != "open":
        return ChargeOutcome(invoice=invoice.number, status="nothing_due")
    if attempt is None:
        attempt = len(_failed_attempts(session, invoice)) + 1
    found = _require(tenant.slug)
    params = {
        "amount": amount, "currency": invoice.currency.lower(), "customer": customer.stripe_customer_id,
        "payment_method": method.stripe_payment_method_id, "confirm": True, "off_session": True,
        "description": f"Invoice {invoice.number}",
        "metadata": {"invoice_id": invoice.public_id, "invoice_number": invoice.number,
                     "customer_id": customer.public_id, "tenant": tenant.slug},
    }
    try:
        intent = client(found).v1.payment_intents.create(
            params=params, options={"idempotency_key": f"{invoice.public_id}-{attempt}"})
    except stripe.CardError as exc:
        error = exc.error
        intent = getattr(error, "payment_intent", None) if error is not None else None
        intent_id = intent["id"] if intent else None
        reason = (getattr(error, "decline_code", None) or getattr(error, "code", None)) if error is not None else None
        reason = reason or "card_error"
        record_failure(session, tenant.slug, invoice, customer, intent_id or f"{invoice.public_id}-{attempt}", reason, actor=actor)
        return ChargeOutcome(invoice=invoice.number, status="failed", payment_intent=intent_id, amount_minor=amount, reason=reason)
    except stripe.StripeError as exc:
        log.warning("stripe charge of invoice %s failed: %s", invoice.number, type(exc).__name__)
        raise StripeChargeError(f"Stripe could not be asked to charge invoice {invoice.number}: {type(exc).__name__}") from None
    if intent.status == "succeeded":
        record_payment(session, customer=customer, amount_minor=int(intent.amount_received or amount),
                       currency=intent.currency.upper(), received_on=tenant.today(), method="stripe",
                       reference=invoice.number, external_id=intent.id, invoice=invoice, actor=actor)
    return ChargeOutcome(invoice=invoice.number, status=intent.status if intent.status in ("succeeded", "processing") else "failed",
                         payment_intent=intent.id, amount_minor=amount,
                         reason=None if intent.status in ("succeeded", "processing") else intent.status)


def charge_due(session: Session, tenant, up_to: date, *, actor: str = "system") -> CollectionResult:
    """Charge every open invoice of `tenant` due up to `up_to` whose customer pays by a card saved
    in Stripe. Invoices a card cannot pay (declined, error) are listed in `skipped` with the reason."""
    invoices = session.scalars(
        select(Invoice).join(PaymentMethod, (PaymentMethod.customer_id == Invoice.customer_id) & PaymentMethod.is_default)
        .where(Invoice.tenant == tenant.slug, Invoice.status == "open", Invoice.kind == "invoice",
               Invoice.due_date <= up_to, PaymentMethod.kind == "stripe")
        .order_by(Invoice.due_date, Invoice.id)
    ).all()
    charged, skipped, total, currency = [], {}, 0, None
    for invoice in invoices:
        try:
            outcome = charge_invoice(session, tenant, invoice, actor=actor)
        except StripeChargeError as exc:
            skipped[invoice.number] = str(exc)
            continue
        if outcome.status in ("succeeded", "processing"):
            charged.append(invoice.number)
            total += outcome.amount_minor
            currency = currency or invoice.currency
        elif outcome.status != "nothing_due":
            skipped[invoice.number] = outcome.reason or outcome.status
    return CollectionResult(kind="stripe", reference=None, invoices=tuple(charged), total_minor=total, currency=currency, skipped=skipped)


# --- webhooks ------------------------------------------------------------------------------

def verify_event(tenant_slug: str, payload: bytes, signature: str | None):
    """The event as a plain dict, if `signature` (the Stripe-Signature header) verifies with the
    tenant's webhook secret; WebhookRejected otherwise."""
    found = account(tenant_slug)
    if found is None or not found.webhook_secret:
        raise StripeNotConfigured(f"tenant '{tenant_slug}' has no Stripe webhook secret")
    if not signature:
        raise WebhookRejected("The Stripe-Signature header is missing.")
    try:
        return stripe.Webhook.construct_event(payload, signature, found.webhook_secret).to_dict()
    except stripe.SignatureVerificationError:
        raise WebhookRejected("The Stripe signature does not verify.") from None
    except ValueError:
        raise WebhookRejected("The payload is not a Stripe event.") from None


def _customer_of(session: Session, tenant_slug: str, obj) -> Customer | None:
    public = (obj.get("metadata") or {}).get("customer_id")
    if public:
        found = session.scalar(select(Customer).where(Customer.tenant == tenant_slug, Customer.public_id == public))
        if found is not None:
            return found
    stripe_id = obj.get("customer")
    if stripe_id:
        return session.scalar(select(Customer).where(Customer.tenant == tenant_slug, Customer.stripe_customer_id == stripe_id))
    return None


def _invoice_of(session: Session, tenant_slug: str, obj) -> Invoice | None:
    public = (obj.get("metadata") or {}).get("invoice_id")
    if not public:
        return None
    return session.scalar(select(Invoice).where(Invoice.tenant == tenant_slug, Invoice.public_id == public))


def handle_event(session: Session, tenant, event) -> str:
    """Apply one verified event (a dict from verify_event) in the caller's transaction.
    Returns what was done, for the answer."""
    obj = event["data"]["object"]
    kind = event["type"]
    if kind not in ("payment_intent.succeeded", "payment_intent.payment_failed", "setup_intent.succeeded"):
        return "ignored"
    customer = _customer_of(session, tenant.slug, obj)
    if customer is None:
        log.info("stripe event %s for tenant %s names no customer of ours", event.get("id"), tenant.slug)
        return "ignored"
    if kind == "setup_intent.succeeded":
        if not obj.get("payment_method"):
            return "ignored"
        if not customer.stripe_customer_id and obj.get("customer"):
            customer.stripe_customer_id = obj["customer"]
        save_card(session, tenant, customer, obj["payment_method"])
        return "card_saved"
    invoice = _invoice_of(session, tenant.slug, obj)
    if kind == "payment_intent.succeeded":
        amount = int(obj.get("amount_received") or obj.get("amount") or 0)
        if amount <= 0:
            return "ignored"
        _, created = record_payment(session, customer=customer, amount_minor=amount, currency=str(obj["currency"]).upper(),
                                    received_on=tenant.today(), method="stripe", reference=invoice.number if invoice else None,
                                    external_id=obj["id"], invoice=invoice, actor="system")
        return "payment_recorded" if created else "duplicate"
    error = obj.get("last_payment_error") or {}
    reason = error.get("decline_code") or error.get("code") or "payment_failed"
    new = record_failure(session, tenant.slug, invoice, customer, obj["id"], reason)
    return "failure_recorded" if new else "duplicate"
