"""Paying by card at sign-up: Stripe's Payment Element on the form, checked with Stripe on submit.

Only for tenants whose theme enables "card" and that have their Stripe keys in the environment
(payments.stripe.card_available); for everybody else the form has no card option and its pages
keep the strict CSP.

1. The card option is in the form but hidden; static/card.js shows it when Stripe.js loaded.
   Without JavaScript a card cannot be entered at all (the Payment Element is Stripe's script,
   and card numbers must never pass through our server), so the option stays hidden and a
   <noscript> note says so; the other methods work as before.
2. When the visitor picks "Card", card.js POSTs the form's one-time submission id to
   `signup.card_setup`: a Stripe customer is made for this form (once) and a SetupIntent for it.
   Both ids are remembered in the visitor's session, the client_secret goes back to the page.
3. On submit card.js calls stripe.confirmSetup, then posts the form with the SetupIntent id and
   the payment method id. `verify` asks Stripe (with the tenant's secret key) that this
   SetupIntent belongs to the Stripe customer made for this very form, succeeded, and saved that
   card. Anything else (a tampered or another visitor's id, Stripe unreachable) is a clear error on
   the card field and nothing is stored.
4. `attach` stores the card (kind "stripe": Stripe's ids, brand and last four digits) in the
   sign-up's transaction; after the commit Stripe's customer is told our customer's id and e-mail.
"""
import re

from flask import current_app, g, jsonify, request, session, url_for
from flask_babel import gettext as _

from widget_server.extensions import limiter
from widget_server.payments import card_brands
from widget_server.payments import stripe as stripe_payments
from widget_server.web.headers import allow_stripe

from . import bp

SUBMISSION = re.compile(r"^[0-9a-f]{32}$")
SESSION_KEY = "card_signup"  # in the Flask session: "<tenant>:<submission>" -> {customer, setup_intent}
REMEMBERED = 3


def offered(tenant) -> bool:
    return stripe_payments.card_available(tenant)


@bp.before_request
def card_policy():
    """The form of a tenant with card payments loads Stripe.js: its CSP must allow Stripe."""
    tenant = g.get("tenant")
    # Cheap tests first: this runs on every sign-up request, and `offered` reads the environment.
    if request.endpoint == "signup.form" and tenant is not None and "card" in tenant.payment_methods and offered(tenant):
        allow_stripe()


@bp.context_processor
def card_context():
    return {"signup_card": _template_values, "card_label": card_label}


def _template_values() -> dict | None:
    """What the form template needs for the card option, or None when the tenant offers no card."""
    tenant = g.get("tenant")
    if tenant is None or not offered(tenant):
        return None
    found = stripe_payments.account(tenant.slug)
    return {"publishable_key": found.publishable_key, "js_url": current_app.config["WIDGET_STRIPE_JS_URL"],
            "script_url": url_for("static", filename="card.js")}


def _key(tenant, submission: str) -> str:
    return f"{tenant.slug}:{submission}"


@bp.post("/card-setup")
def card_setup():
    """A SetupIntent's client_secret for this form (JSON), made for a Stripe customer of this form."""
    limiter.signup_post()  # each call makes a Stripe customer: counted like a sign-up
    tenant = g.tenant
    submission = request.form.get("submission", "")
    if not offered(tenant) or not SUBMISSION.match(submission):
        return jsonify({"detail": _("Paying by card is not possible here. Please choose another payment method.")}), 404
    try:
        stripe_customer, intent = stripe_payments.signup_setup_intent(tenant, submission)
    except stripe_payments.StripeChargeError:
        return jsonify({"detail": unavailable()}), 503
    remembered = {k: v for k, v in (session.get(SESSION_KEY) or {}).items() if k != _key(tenant, submission)}
    remembered = dict(list(remembered.items())[-(REMEMBERED - 1):])
    remembered[_key(tenant, submission)] = {"customer": stripe_customer, "setup_intent": intent.id}
    session[SESSION_KEY] = remembered
    response = jsonify({"client_secret": intent.client_secret})
    response.headers["Cache-Control"] = "no-store"
    return response


def unavailable() -> str:
    return _("Card payment is not available at the moment. Please try again in a few minutes or choose another payment method.")


def verify(tenant, submission: str, typed: dict) -> tuple[dict | None, dict]:
    """(what to store, errors by input name) for a card the page says it confirmed.

    Updates `typed` for a form shown again: a confirmed card is kept (with its label), a
    refused one is dropped so the visitor enters it again."""
    refused = _("We could not confirm your card. Please enter your card details again.")
    remembered = (session.get(SESSION_KEY) or {}).get(_key(tenant, submission)) or {}
    setup_intent = typed.get("setup_intent") or ""
    card, error = None, None
    if not remembered or remembered.get("setup_intent") != setup_intent:
        error = refused
    else:
        try:
            card = stripe_payments.verify_setup(tenant, setup_intent, typed.get("payment_method_id") or None,
                                                stripe_customer=remembered.get("customer"))
        except stripe_payments.CardSetupRefused:
            error = refused
        except stripe_payments.StripeChargeError:
            error = unavailable()
    if error:
        typed.update(setup_intent="", payment_method_id="")
        return None, {"card": error}
    typed.update(payment_method_id=card.payment_method_id, card_label=card_label(card.brand, card.last4))
    return {"customer": remembered["customer"], "card": card}, {}


def card_label(brand: str | None, last4: str | None) -> str:
    """"Visa ending 4242" in the page's language."""
    name = card_brands.display(brand) or _("Card")
    return _("%(brand)s ending %(last4)s", brand=name, last4=last4) if last4 else name


def attach(contract, confirmed: dict) -> None:
    """Put the confirmed card on the sign-up's new payment method (same transaction)."""
    customer = contract.customer
    customer.stripe_customer_id = confirmed["customer"]
    method = customer.default_payment_method
    card = confirmed["card"]
    method.stripe_payment_method_id = card.payment_method_id
    method.card_brand = card.brand
    method.card_last4 = card.last4


def forget(tenant, submission: str, contract) -> None:
    """After the commit: drop the session entry, and name our customer in Stripe (best effort)."""
    remembered = session.get(SESSION_KEY) or {}
    if _key(tenant, submission) in remembered:
        session[SESSION_KEY] = {k: v for k, v in remembered.items() if k != _key(tenant, submission)}
    if contract.customer.stripe_customer_id:
        stripe_payments.link_stripe_customer(tenant, contract.customer)
