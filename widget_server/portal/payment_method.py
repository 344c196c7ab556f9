"""The customer's payment method: see it, switch to another one the tenant offers, maybe remove it.

A switch never edits the old method: a new PaymentMethod row becomes the default and the
old one stays, inactive (is_default false), so past SEPA collections keep their mandate.
A new SEPA method is a new mandate (new reference, signed today), so its first debit is
FRST again. Audit and outbox events describe methods through the payment providers, which
show IBANs masked only.
"""
from datetime import date

from flask import current_app, g, redirect, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from hosted_signup import payment_form

from ..billing.contracts import PaymentChoice
from ..extensions import db
from ..payments import provider
from ..payments import stripe as stripe_payments
from ..storage.models import AuditEvent, Customer, OutboxEvent, PaymentMethod
from ..web.pages import page_url
from . import NAV, access, bp

NAV.append(("portal.payment_method", _l("Payment method")))

CARD_SETUP = "portal.card_setup"  # the card page (Stripe), when it is installed
SWITCHABLE = ("invoice", "sepa")  # what this page's form sets up; a card is saved on the card page


def offered(tenant) -> list[str]:
    """The methods of the tenant that the form offers, in the theme's order."""
    return [m for m in tenant.payment_methods if m in SWITCHABLE]


class KeepLastMethod(Exception):
    """The tenant does not let customers end up without a payment method."""


# -- changes (no Flask: the caller commits) ---------------------------------------------------

def describe(method: PaymentMethod | None) -> dict | None:
    """What audit events and webhooks say about a method: never a full IBAN."""
    return None if method is None else provider(method.kind).describe(method)


def _record(session: Session, tenant, customer: Customer, before: dict | None, after: dict | None, actor: str) -> None:
    session.add(AuditEvent(tenant=tenant.slug, customer_id=customer.id, actor=actor, action="payment_method.updated",
                           before=before, after=after))
    session.add(OutboxEvent(tenant=tenant.slug, type="payment_method.updated",
                            payload={"customer_id": customer.public_id, "before": before, "after": after}))


def switch(session: Session, tenant, customer: Customer, choice: PaymentChoice, today: date, *,
           actor: str = "customer") -> PaymentMethod | None:
    """Make a new method from `choice` (validated) the customer's default; None when nothing changes
    (bank transfer chosen again: it stores nothing, so there is nothing new to make)."""
    current = customer.default_payment_method
    if choice.kind == "invoice" and current is not None and current.kind == "invoice":
        return None
    method = PaymentMethod(customer=customer, is_default=True)
    provider(choice.kind).prepare(method, choice, tenant=tenant, today=today)
    for old in customer.payment_methods:
        if old is not method:
            old.is_default = False
    session.add(method)
    session.flush()
    _record(session, tenant, customer, describe(current), describe(method), actor)
    return method


def remove(session: Session, tenant, customer: Customer, *, actor: str = "customer") -> None:
    """End the current method (it stays stored, inactive); refused when the tenant keeps the last one."""
    current = customer.default_payment_method
    if current is None:
        return
    if tenant.portal.keep_last_payment_method:
        raise KeepLastMethod()
    current.is_default = False
    session.flush()
    _record(session, tenant, customer, describe(current), None, actor)


# -- the page -----------------------------------------------------------------------------------

def card_setup_url() -> str | None:
    """The card page, offered only when it is installed and the tenant can take cards now (its theme
    enables card and its Stripe keys are set: payments.stripe.card_available, the card page's own test)."""
    if CARD_SETUP in current_app.view_functions and stripe_payments.card_available(g.tenant):
        return page_url(CARD_SETUP)
    return None


def _render(*, typed=None, errors=None, notice=None, status=200):
    tenant, customer = g.tenant, g.customer
    current = customer.default_payment_method
    methods = offered(tenant)
    typed = typed or {"payment_method": current.kind if current and current.kind in methods else ""}
    page = render_template(
        "portal/payment_method.html", current=current, methods=methods, typed=typed, errors=errors or {}, notice=notice,
        mandate_text=payment_form.mandate_text(tenant) if "sepa" in methods else None,
        bank=(tenant.billing.bank if tenant.billing else None) or {}, card_url=card_setup_url(),
        may_remove=current is not None and not tenant.portal.keep_last_payment_method,
        saved=request.args.get("saved") == "1",
    )
    return page, status


@bp.route("/payment-method", methods=["GET", "POST"])
@access.signed_in
def payment_method():
    tenant, customer = g.tenant, g.customer
    if request.method == "GET":
        return _render()
    if request.form.get("action") == "remove":
        try:
            remove(db.session, tenant, customer)
        except KeepLastMethod:
            db.session.rollback()
            return _render(errors={"remove": _("You cannot remove your only payment method. "
                                               "Choose another payment method instead.")}, status=409)
        db.session.commit()
        return redirect(page_url(".payment_method", saved="1"), code=303)

    if request.form.get("payment_method") not in offered(tenant):
        return _render(typed={"payment_method": ""}, errors={"payment_method": _("Please choose a payment method.")},
                       status=422)
    choice, errors, typed = payment_form.validate(tenant, request.form)
    if errors:
        return _render(typed=typed, errors=errors, status=422)
    if switch(db.session, tenant, customer, choice, tenant.today()) is None:
        return _render(notice=_("You already pay by bank transfer; nothing was changed."))
    db.session.commit()
    return redirect(page_url(".payment_method", saved="1"), code=303)
