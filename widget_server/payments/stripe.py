"""Card payments through Stripe: a card saved with a SetupIntent, open invoices charged
off-session with PaymentIntents, settled from Stripe's webhooks.

The only module that imports the `stripe` library (DESIGN.md).

Configuration, per tenant, only from the environment (never theme files, never logs):

    WIDGET_STRIPE_SECRET_KEY_<TENANT>      the tenant's secret API key (sk_live_... / sk_test_... / rk_...)
    WIDGET_STRIPE_PUBLISHABLE_KEY_<TENANT> its publishable key (pk_...), handed to Stripe.js on card pages
    WIDGET_STRIPE_WEBHOOK_SECRET_<TENANT>  the signing secret (whsec_...) of the endpoint
                                           POST /webhooks/stripe/<tenant> in the tenant's Stripe dashboard
    WIDGET_STRIPE_API_BASE                 Stripe's API address for all tenants (default https://api.stripe.com;
                                           tests point it at a local fake server)

<TENANT> is the tenant slug upper-cased with "-" as "_" (tenant "acme-gym": WIDGET_STRIPE_SECRET_KEY_ACME_GYM).
A tenant has Stripe only when its secret key is set; its webhooks are accepted only when
its webhook secret is set as well. Customers are offered cards ("card" in the theme's
payments.methods, stored as kind "stripe") only when all three variables are set
(`card_problems`); otherwise card is left out and a warning is logged, once per process.

Flow:
  1. A SetupIntent for off-session use, confirmed in the browser by Stripe.js with the
     Payment Element: `create_setup_intent` for an existing customer (portal), or
     `signup_setup_intent` during the sign-up, before our customer exists (the Stripe
     customer is created first, and linked to ours when the sign-up is stored).
  2. The page posts the SetupIntent's id and the resulting payment method; `verify_setup`
     asks Stripe (never the browser) that the SetupIntent succeeded for this Stripe customer
     with that card, and `save_card` makes it the customer's default PaymentMethod (kind
     "stripe": Stripe's pm_... id, the brand and last four digits, nothing else). The webhook
     `setup_intent.succeeded` does the same if the page never came back.
  3. `charge_invoice` / `charge_due` charge what the ledger says is still open on an invoice,
     off-session and confirmed at once; the idempotency key is the invoice's public id and
     the attempt number (1 + failures recorded for the invoice), so a retried request, or two
     runs charging at the same time, get the same PaymentIntent back and never charge twice.
     Renewals are charged on their due date by the worker's daily `card_charges` job
     (charge_due per tenant with a secret key); "pay now" in the portal charges every open
     invoice of one customer (`charge_open_invoices`).
  4. `payment_intent.succeeded` books the payment with billing.ledger.record_payment under the
     PaymentIntent's id (a charge that succeeds at once is booked the same way, so the webhook
     that follows books nothing new); `payment_intent.payment_failed` is recorded as an audit
     event and an `invoice.payment_failed` outbox event, without touching the ledger.
"""
import logging
import os
import re
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
PUBLISHABLE_KEY_VARIABLE = "WIDGET_STRIPE_PUBLISHABLE_KEY_{}"
WEBHOOK_SECRET_VARIABLE = "WIDGET_STRIPE_WEBHOOK_SECRET_{}"
API_BASE_VARIABLE = "WIDGET_STRIPE_API_BASE"


class StripeNotConfigured(PaymentSetupError):
    """The tenant has no Stripe key (or webhook secret) in the environment."""


class StripeChargeError(RuntimeError):
    """A call to Stripe failed for a reason other than the card (network, API error). No secrets in the message."""


class WebhookRejected(ValueError):
    """A webhook whose signature is missing or does not verify with the tenant's secret."""


class CardSetupRefused(ValueError):
    """A SetupIntent the browser posted that Stripe does not confirm for this customer and card
    (unknown, another customer's or account's, not succeeded, another card). Nothing is saved."""


def variable_suffix(tenant_slug: str) -> str:
    return tenant_slug.upper().replace("-", "_")


@dataclass(frozen=True)
class StripeAccount:
    tenant: str
    secret_key: str
    webhook_secret: str | None
    api_base: str
    publishable_key: str | None = None

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
    publishable_key = (environ.get(PUBLISHABLE_KEY_VARIABLE.format(suffix)) or "").strip() or None
    api_base = (environ.get(API_BASE_VARIABLE) or "").strip().rstrip("/") or DEFAULT_API_BASE
    return StripeAccount(tenant=tenant_slug, secret_key=key, webhook_secret=webhook_secret, api_base=api_base,
                         publishable_key=publishable_key)


def missing_variables(tenant_slug: str, environ=None) -> list[str]:
    """The environment variables a tenant still needs before customers can pay by card."""
    environ = os.environ if environ is None else environ
    suffix = variable_suffix(tenant_slug)
    names = (SECRET_KEY_VARIABLE, PUBLISHABLE_KEY_VARIABLE, WEBHOOK_SECRET_VARIABLE)
    return [name.format(suffix) for name in names if not (environ.get(name.format(suffix)) or "").strip()]


def card_problems(tenant) -> list[str]:
    """Why a tenant whose theme enables "card" cannot offer it ([] when it can, or does not enable it).
    Keys live in the environment, never in theme files: `themes check` prints these as notes."""
    if "card" not in tenant.payment_methods:
        return []
    missing = missing_variables(tenant.slug)
    if not missing:
        return []
    return [f"payments.methods enables card, but {', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set "
            "in the environment: card is not offered"]


def card_notes(registry, slugs) -> list[str]:
    """`themes check` notes for tenants that enable card without their keys in this environment."""
    notes = []
    for slug in slugs:
        try:
            tenant = registry.get(slug)
        except Exception:  # a broken theme: its problems are listed already
            continue
        notes.extend(f"{registry.themes_dir}/{slug}/theme.toml: note: {problem}" for problem in card_problems(tenant))
    return notes


_warned: set = set()


def card_available(tenant) -> bool:
    """Whether customers of `tenant` may choose a card now. A tenant that enables card without its
    keys gets card left out (the other methods still work) and one warning in the log."""
    problems = card_problems(tenant)
    if problems:
        key = (tenant.slug, tuple(problems))
        if key not in _warned:
            _warned.add(key)
            log.warning("tenant %s: %s", tenant.slug, problems[0])
        return False
    return "card" in tenant.payment_methods


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
        return [f"{name} is not set in the environment" for name in missing_variables(tenant.slug)]

    def prepare(self, method, choice, *, tenant, today: date) -> None:
        # A card is never typed into our forms: it is saved from a SetupIntent that Stripe
        # confirms (verify_setup, then save_card), never from form values.
        raise PaymentSetupError("Cards are saved from a confirmed SetupIntent (verify_setup, save_card), not from form values.")

    def describe(self, method: PaymentMethod) -> dict:
        return {"id": method.public_id, "kind": method.kind, "brand": method.card_brand, "last4": method.card_last4}

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
    client_secret to Stripe.js and posts the outcome back (verify_setup)."""
    stripe_customer = ensure_stripe_customer(session, tenant, customer)
    return _setup_intent(tenant, stripe_customer, {"customer_id": customer.public_id, "tenant": tenant.slug})


def signup_setup_intent(tenant, signup_key: str):
    """(Stripe customer id, SetupIntent) for a sign-up form that has no customer of ours yet.

    The Stripe customer is made once per form (the idempotency key is the form's one-time
    submission id); `link_stripe_customer` names our customer there after the sign-up."""
    found = _require(tenant.slug)
    try:
        created = client(found).v1.customers.create(
            params={"metadata": {"tenant": tenant.slug, "signup": signup_key}},
            options={"idempotency_key": f"signup-{tenant.slug}-{signup_key}"},
        )
    except stripe.StripeError as exc:
        log.warning("stripe customer for a sign-up of tenant %s not created: %s", tenant.slug, type(exc).__name__)
        raise StripeChargeError(f"Stripe did not create the customer: {type(exc).__name__}") from None
    return created.id, _setup_intent(tenant, created.id, {"tenant": tenant.slug, "signup": signup_key})


def _setup_intent(tenant, stripe_customer: str, metadata: dict):
    try:
        return client(_require(tenant.slug)).v1.setup_intents.create(params={
            "customer": stripe_customer, "usage": "off_session", "payment_method_types": ["card"], "metadata": metadata,
        })
    except stripe.StripeError as exc:
        log.warning("stripe SetupIntent for tenant %s not created: %s", tenant.slug, type(exc).__name__)
        raise StripeChargeError(f"Stripe did not create the SetupIntent: {type(exc).__name__}") from None


def link_stripe_customer(tenant, customer: Customer) -> None:
    """Tell Stripe which of our customers a sign-up's Stripe customer is (best effort: the
    link that matters, Customer.stripe_customer_id, is in our database already)."""
    try:
        client(_require(tenant.slug)).v1.customers.update(customer.stripe_customer_id, params={
            "email": customer.email, "preferred_locales": [customer.locale],
            "metadata": {"customer_id": customer.public_id, "tenant": tenant.slug}})
    except (stripe.StripeError, StripeNotConfigured) as exc:
        log.warning("stripe customer %s not updated: %s", customer.public_id, type(exc).__name__)


SETUP_INTENT_ID = re.compile(r"^seti_[A-Za-z0-9_]{1,200}$")
PAYMENT_METHOD_ID = re.compile(r"^(pm|card|src)_[A-Za-z0-9_]{1,200}$")


@dataclass(frozen=True)
class CardSetup:
    """A card Stripe confirmed as saved for a customer: what we store of it."""

    payment_method_id: str
    brand: str | None
    last4: str | None


def verify_setup(tenant, setup_intent_id: str, payment_method_id: str | None, *, stripe_customer: str | None) -> CardSetup:
    """Ask Stripe (with the tenant's secret key) whether `setup_intent_id` succeeded for
    `stripe_customer` with the card `payment_method_id` (when the page sent one).

    CardSetupRefused when it did not, StripeChargeError when Stripe cannot be asked."""
    if not stripe_customer or not SETUP_INTENT_ID.match(setup_intent_id or ""):
        raise CardSetupRefused("not a SetupIntent of this customer")
    if payment_method_id and not PAYMENT_METHOD_ID.match(payment_method_id):
        raise CardSetupRefused("not a payment method id")
    api = client(_require(tenant.slug))
    try:
        intent = api.v1.setup_intents.retrieve(setup_intent_id).to_dict()
        if intent.get("status") != "succeeded":
            raise CardSetupRefused(f"the SetupIntent is {intent.get('status')}")
        if _id(intent.get("customer")) != stripe_customer:
            raise CardSetupRefused("the SetupIntent belongs to another customer")
        card_id = _id(intent.get("payment_method"))
        if not card_id or (payment_method_id and card_id != payment_method_id):
            raise CardSetupRefused("the SetupIntent saved another card")
        card = api.v1.payment_methods.retrieve(card_id).to_dict()
        if card.get("type") != "card" or (card.get("customer") and card["customer"] != stripe_customer):
            raise CardSetupRefused("the payment method is not this customer's card")
    except stripe.InvalidRequestError:  # no such SetupIntent (or card) in this tenant's account
        raise CardSetupRefused("Stripe does not know this SetupIntent") from None
    except stripe.StripeError as exc:
        log.warning("stripe SetupIntent of tenant %s not checked: %s", tenant.slug, type(exc).__name__)
        raise StripeChargeError(f"Stripe could not be asked about the SetupIntent: {type(exc).__name__}") from None
    details = card.get("card") or {}
    return CardSetup(payment_method_id=card_id, brand=details.get("brand"), last4=details.get("last4"))


def _id(value) -> str | None:
    """An id from a field Stripe sends either as an id or as the expanded object."""
    if value is None or isinstance(value, str):
        return value
    return value.get("id")


def card_details(tenant, payment_method_id: str) -> tuple[str | None, str | None]:
    """(brand, last4) of a saved card, or (None, None) when Stripe cannot tell us now."""
    try:
        card = client(_require(tenant.slug)).v1.payment_methods.retrieve(payment_method_id).to_dict().get("card") or {}
    except (stripe.StripeError, StripeNotConfigured) as exc:
        log.warning("stripe card details of tenant %s not read: %s", tenant.slug, type(exc).__name__)
        return None, None
    return card.get("brand"), card.get("last4")


def save_card(session: Session, tenant, customer: Customer, payment_method_id: str, *, brand: str | None = None,
              last4: str | None = None, actor: str = "system") -> PaymentMethod:
    """Make a card saved in Stripe the customer's default payment method (one row per card).

    A change of the default is an audit event and a `payment_method.updated` outbox event
    (the card described by brand and last four digits only). The caller commits."""
    describe = StripeProvider().describe
    current = customer.default_payment_method
    method = next((m for m in customer.payment_methods
                   if m.kind == "stripe" and m.stripe_payment_method_id == payment_method_id), None)
    if method is not None:
        method.card_brand = brand or method.card_brand
        method.card_last4 = last4 or method.card_last4
        if method is current:
            return method
    before = None if current is None else (describe(current) if current.kind == "stripe"
                                           else {"id": current.public_id, "kind": current.kind})
    for other in customer.payment_methods:
        other.is_default = False
    if method is None:
        method = PaymentMethod(customer=customer, kind="stripe", stripe_payment_method_id=payment_method_id,
                               card_brand=brand, card_last4=last4)
        session.add(method)
    method.is_default = True
    session.flush()
    after = describe(method)
    session.add(AuditEvent(tenant=tenant.slug, customer_id=customer.id, actor=actor, action="payment_method.updated",
                           before=before, after=after))
    session.add(OutboxEvent(tenant=tenant.slug, type="payment_method.updated",
                            payload={"customer_id": customer.public_id, "before": before, "after": after}))
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
    currency: str | None = None


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
        return ChargeOutcome(invoice=invoice.number, status="failed", payment_intent=intent_id, amount_minor=amount, reason=reason,
                             currency=invoice.currency)
    except stripe.StripeError as exc:
        log.warning("stripe charge of invoice %s failed: %s", invoice.number, type(exc).__name__)
        raise StripeChargeError(f"Stripe could not be asked to charge invoice {invoice.number}: {type(exc).__name__}") from None
    if intent.status == "succeeded":
        record_payment(session, customer=customer, amount_minor=int(intent.amount_received or amount),
                       currency=intent.currency.upper(), received_on=tenant.today(), method="stripe",
                       reference=invoice.number, external_id=intent.id, invoice=invoice, actor=actor)
    return ChargeOutcome(invoice=invoice.number, status=intent.status if intent.status in ("succeeded", "processing") else "failed",
                         payment_intent=intent.id, amount_minor=amount, currency=invoice.currency,
                         reason=None if intent.status in ("succeeded", "processing") else intent.status)


def charge_open_invoices(session: Session, tenant, customer: Customer, *, actor: str = "customer") -> list[ChargeOutcome]:
    """"Pay now": charge every open invoice of `customer`, oldest first, to the saved card.
    Commits after each invoice, so a booked payment is never lost to a later failure; stops at the
    first decline. StripeChargeError when Stripe cannot be reached (what was booked stays booked)."""
    invoices = session.scalars(
        select(Invoice).where(Invoice.customer_id == customer.id, Invoice.status == "open", Invoice.kind == "invoice")
        .order_by(Invoice.due_date, Invoice.id)).all()
    outcomes = []
    for invoice in invoices:
        outcome = charge_invoice(session, tenant, invoice, actor=actor)
        session.commit()
        if outcome.status == "nothing_due":
            continue
        outcomes.append(outcome)
        if outcome.status in ("failed", "no_card"):
            break
    return outcomes


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
        if obj.get("customer") and obj["customer"] != customer.stripe_customer_id:
            return "ignored"
        card_id = _id(obj["payment_method"])
        known = next((m for m in customer.payment_methods
                      if m.kind == "stripe" and m.stripe_payment_method_id == card_id), None)
        if known is not None:  # the page saved it already (or an earlier delivery): never make it the default again
            if not known.card_last4:
                known.card_brand, known.card_last4 = card_details(tenant, card_id)
            return "duplicate"
        brand, last4 = card_details(tenant, card_id)
        save_card(session, tenant, customer, card_id, brand=brand, last4=last4)
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
