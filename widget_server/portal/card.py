"""Cards in the portal: save or replace the card (Stripe's Payment Element), and "pay now by card".

Only for tenants whose theme enables card and that have their Stripe keys in the environment
(payments.stripe.card_available); for others both routes answer 404 and nothing mentions cards.

- `GET/POST /t/<t>/portal/payment-method/card` (portal.card_setup): GET makes a SetupIntent for
  the customer's Stripe customer and shows the Payment Element (static/card.js, the same as the
  sign-up's). The browser confirms it with Stripe and posts the SetupIntent's id; we ask Stripe
  whether it succeeded for this customer's Stripe customer before the card becomes the default
  payment method (audit event and `payment_method.updated` outbox event, the card described by
  brand and last four digits only). Without JavaScript the page says a card needs it.
- `POST /t/<t>/portal/pay` (portal.pay_now): charges the open invoices, oldest first, to the
  saved card, off-session, each with the idempotency key of billing (a double click charges once);
  without a saved card it leads to the card page, which pays right after saving (`then=pay`).
"""
from flask import abort, current_app, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..billing.money import from_minor
from ..extensions import db
from ..payments import card_brands
from ..payments import stripe as stripe_payments
from ..web.headers import allow_stripe
from ..web.pages import page_url
from . import access, bp


def _available() -> bool:
    return payable(g.tenant)


def payable(tenant) -> bool:
    """Whether the overview offers "Pay now by card" (part of its cache key: the keys may come and go)."""
    return "card" in tenant.payment_methods and stripe_payments.card_available(tenant)


def saved_card(customer):
    """The customer's default payment method if it is a card saved in Stripe."""
    method = customer.default_payment_method
    if method is not None and method.kind == "stripe" and method.stripe_payment_method_id and customer.stripe_customer_id:
        return method
    return None


def card_label(method) -> str:
    """"Visa ending 4242" in the page's language."""
    name = card_brands.display(method.card_brand) or _("Card")
    return _("%(brand)s ending %(last4)s", brand=name, last4=method.card_last4) if method.card_last4 else name


@bp.context_processor
def card_context():
    return {"portal_card": _overview_values}


def _overview_values() -> dict | None:
    """For the overview's "Pay now by card" form: None unless the tenant offers cards."""
    if g.get("tenant") is None or g.get("customer") is None or not payable(g.tenant):
        return None
    method = saved_card(g.customer)
    return {"pay_url": page_url("portal.pay_now"), "card": card_label(method) if method else None}


def _unavailable() -> str:
    return _("Card payment is not available at the moment. Please try again in a few minutes or choose another payment method.")


def _render(*, client_secret=None, errors=None, then=None, status=200):
    customer = g.customer
    current = saved_card(customer)
    values = {"publishable_key": stripe_payments.account(g.tenant.slug).publishable_key,
              "js_url": current_app.config["WIDGET_STRIPE_JS_URL"], "script_url": url_for("static", filename="card.js")}
    page = render_template(
        "portal/card.html", card=values, client_secret=client_secret, errors=errors or {}, payment={},
        current=card_label(current) if current else None, then=then, saved=request.args.get("saved") == "1",
    )
    return page, status


def _new_intent():
    """A SetupIntent's client_secret for the page, or None when Stripe cannot be reached."""
    try:
        intent = stripe_payments.create_setup_intent(db.session, g.tenant, g.customer)
    except stripe_payments.StripeChargeError:
        db.session.rollback()
        return None
    db.session.commit()  # the Stripe customer's id, made on first use
    return intent.client_secret


@bp.route("/payment-method/card", methods=["GET", "POST"])
@access.signed_in
def card_setup():
    if not _available():
        abort(404)
    allow_stripe()
    then = "pay" if (request.values.get("then") == "pay") else None
    if request.method == "GET":
        secret = _new_intent()
        if secret is None:
            return _render(errors={"card": _unavailable()}, then=then, status=503)
        return _render(client_secret=secret, then=then)

    tenant, customer = g.tenant, g.customer
    try:
        card = stripe_payments.verify_setup(tenant, request.form.get("setup_intent", "")[:255],
                                            request.form.get("payment_method_id", "")[:255] or None,
                                            stripe_customer=customer.stripe_customer_id)
    except stripe_payments.CardSetupRefused:
        secret = _new_intent()
        return _render(client_secret=secret, then=then, status=422,
                       errors={"card": _("We could not confirm your card. Please enter your card details again.")})
    except stripe_payments.StripeChargeError:
        return _render(errors={"card": _unavailable()}, then=then, status=503)
    stripe_payments.save_card(db.session, tenant, customer, card.payment_method_id, brand=card.brand, last4=card.last4,
                              actor="customer")
    db.session.commit()
    if then == "pay":
        return _pay()
    return redirect(page_url(".card_setup", saved="1"), code=303)


@bp.post("/pay")
@access.signed_in
def pay_now():
    if not _available():
        abort(404)
    if saved_card(g.customer) is None:
        return redirect(page_url(".card_setup", then="pay"), code=303)
    return _pay()


def _pay():
    tenant, customer = g.tenant, g.customer
    method = saved_card(customer)
    status, failed = 200, False
    try:
        outcomes = stripe_payments.charge_open_invoices(db.session, tenant, customer, actor="customer")
    except stripe_payments.StripeChargeError:
        db.session.rollback()
        outcomes, failed, status = [], True, 503
    results = [{"number": o.invoice, "status": o.status, "amount": from_minor(o.amount_minor, o.currency or "EUR"),
                "currency": o.currency or "EUR"} for o in outcomes]
    if any(r["status"] == "failed" for r in results):
        status = 402
    return render_template("portal/card_paid.html", results=results, unreachable=failed,
                           card=card_label(method) if method else None), status

