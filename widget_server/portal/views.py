"""Routes of the portal (CONTRACT.md: /t/<t>/portal/enter, /t/<t>/portal/)."""
from flask import g, redirect, render_template, request
from flask_babel import gettext as _

from ..billing.ledger import balance
from ..billing.money import from_minor
from ..extensions import db
from ..web.errors import render_error
from ..web.pages import page_url
from . import access, bp


@bp.get("/enter")
def enter():
    try:
        _visit, payload = access.enter(g.tenant.slug, request.args.get("token", ""))
    except access.EntryRefused as refused:
        messages = {
            "expired": _("This link has expired. Links to your customer account are valid for a short time only; "
                         "please ask for a new one."),
            "used": _("This link has already been used. For your security each link works only once; "
                      "please ask for a new one."),
            "invalid": _("This link is not valid. Please ask for a new one."),
        }
        return render_error(400, messages[refused.reason])
    if payload.get("locale") and payload["locale"] in g.tenant.languages:
        return redirect(page_url(".overview", lang=payload["locale"]))
    return redirect(page_url(".overview"))


@bp.get("/", strict_slashes=False)
@access.signed_in
def overview():
    tenant, customer = g.tenant, g.customer
    owed = balance(db.session, customer, tenant.today())
    currency = owed.currency or "EUR"
    contracts = [c for c in customer.contracts if c.status != "ended"] or customer.contracts[-1:]
    return render_template(
        "portal/overview.html", customer=customer, contracts=contracts, owed=owed,
        amount=lambda minor: from_minor(minor, currency), currency=currency,
        pay_reference=owed.open_items[0].invoice.payment_reference if owed.open_items else None,
    )


@bp.post("/logout")
def logout():
    access.leave(g.tenant.slug)
    return render_template("portal/signed_out.html")
