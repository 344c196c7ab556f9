"""Routes of the portal (CONTRACT.md: /t/<t>/portal/enter, /t/<t>/portal/)."""
from flask import g, redirect, render_template, request
from flask_babel import get_locale

from ..billing.ledger import balance
from ..billing.money import from_minor
from ..extensions import db
from ..storage.models import Customer
from ..web import page_cache
from ..web.embedding import parent_origin
from ..web.pages import page_url
from ..web.session import csrf_token
from . import access, bp, card, handoff, login


@bp.get("/enter")
def enter():
    """A one-time link from the merchant: a new portal session, then the page the link asked for.

    Inside a merchant's frame the way to that page passes the hand-off check (handoff.py): where the
    browser refuses our cookie in the frame, the customer continues signed in in a new tab instead.
    A refused link does not dead-end: the page says why, in the customer's language, and offers
    the e-mail sign-in, which opens the same page afterwards."""
    token = request.args.get("token", "")
    try:
        visit, payload = access.enter(g.tenant, token)
    except access.EntryRefused as refused:
        deep = access.deep_link(g.tenant.slug, token)
        return login.refused_link(refused.reason, {**deep, "entry": token} if deep else {})
    extra = {"lang": payload["locale"]} if payload.get("locale") in g.tenant.languages else {}
    if parent_origin(g.tenant):
        check = handoff.issue(g.tenant.slug, visit, customer=str(payload["customer"]), flow=payload.get("flow"),
                              locale=payload.get("locale"))
        return redirect(page_url("portal.handoff_check", handoff=check, **extra))
    return redirect(page_url(access.destination(payload.get("flow")), **extra))


# Overview pages per customer, language and link parameters (a few KB each), kept per process.
overviews = page_cache.PageCache(size=2048)


@bp.get("/", strict_slashes=False)
@access.signed_in(load_customer=False)
def overview():
    """Plan, status, next payment, balance and contact; rendered again only when something it shows changed.

    Most visits find the same page as the last one: the key holds everything the page depends on
    (the customer's row revisions, the day, the language, the link parameters, whether cards can
    be paid now) and the per-visitor CSRF token is filled into the cached page."""
    tenant, visit = g.tenant, g.visit
    today = tenant.today()
    key = ("portal.overview", visit.customer_id, visit.customer_public_id, visit.stamp,
           today, str(get_locale()), request.query_string, visit.return_url, card.payable(tenant))
    return overviews.get(tenant, key, lambda: _render_overview(tenant, visit.customer_id, today), csrf=csrf_token())


def _render_overview(tenant, customer_id: int, today) -> str:
    db.session.expire_all()  # read no row older than the stamp the page is cached under
    customer = g.customer = db.session.get(Customer, customer_id)
    owed = balance(db.session, customer, today)
    currency = owed.currency or "EUR"
    contracts = [c for c in customer.contracts if c.status != "ended"] or customer.contracts[-1:]
    return render_template(
        "portal/overview.html", customer=customer, contracts=contracts, owed=owed,
        amount=lambda minor: from_minor(minor, currency), currency=currency,
        pay_reference=owed.open_items[0].invoice.payment_reference if owed.open_items else None,
        csrf_token=lambda: page_cache.CSRF_SLOT,
    )


@bp.post("/logout")
def logout():
    access.leave(g.tenant.slug)
    return render_template("portal/signed_out.html")
