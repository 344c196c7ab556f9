"""The embedded portal's way out to a new tab, for browsers that refuse our cookie inside the merchant's frame.

An entry link opened in a frame (`?embed=` on the tenant's allowlist) uses up its token and starts a portal
session whose key only the cookie carries. If the browser refuses that cookie in the frame, the customer
would land on "please sign in" and the merchant's link is gone. So such an entry passes through
/enter/check with a hand-off token: signed for its own purpose and the tenant, valid for two minutes,
bound to the session just started and its customer, and recorded on use in `used_token` like an entry
token, so it works once on any instance. When the cookie came back, the check opens the page the link
asked for. When it did not, the check shows "Continue in a new tab" and the host page gets
`widget:fallback` (frame.js posts the page's `data-widget-event`). /enter/resume, opened top-level where
the cookie is kept, uses the hand-off and starts a new portal session for the same customer at the same page.
"""
import secrets

from flask import current_app, g, make_response, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import tokens
from ..extensions import db
from ..storage.base import PUBLIC_ID, utcnow
from ..storage.models import Customer, PortalSession, UsedToken
from ..storage.queries import by_public_id
from ..web.pages import carry, page_url
from . import access, bp, login

PURPOSE = "portal-handoff"
ID_PREFIX = "ho_"

# Their URLs hold the hand-off: never passed on as a Referer (the footer links leave the check page).
login.NO_REFERRER.update({"portal.handoff_check", "portal.handoff_resume"})


def issue(tenant: str, visit: PortalSession, *, customer: str, flow: str | None, locale: str | None) -> str:
    """A hand-off token for the portal session `visit` of `customer` (a public id) just started in a frame."""
    return tokens.sign(PURPOSE, tenant, {"id": ID_PREFIX + secrets.token_urlsafe(16), "session": visit.key_hash,
                                         "customer": customer, "flow": flow, "locale": locale})


def _deep_link(token: str) -> dict:
    """`flow` and `locale` of a genuine hand-off of this tenant, however old or used (never who it was for)."""
    try:
        payload = tokens.load_expired(PURPOSE, g.tenant.slug, token)
    except tokens.BadToken:
        return {}
    flow, locale = payload.get("flow"), payload.get("locale")
    return {"flow": flow if flow in access.FLOWS else None, "locale": locale if isinstance(locale, str) else None}


def _bound_session(payload: dict) -> PortalSession | None:
    """The portal session a genuine hand-off was issued for (the token holds its key's hash, never the key)."""
    key_hash = payload.get("session")
    if not isinstance(key_hash, str):
        return None
    return db.session.scalar(select(PortalSession).where(PortalSession.key_hash == key_hash,
                                                         PortalSession.tenant == g.tenant.slug))


def _check(token: str) -> tuple[dict, PortalSession, Customer]:
    """The payload, bound session and customer of a hand-off that may still be used; else EntryRefused."""
    try:
        payload = tokens.load(PURPOSE, g.tenant.slug, token)
    except tokens.TokenExpired:
        raise access.EntryRefused("expired")
    except tokens.BadToken:
        raise access.EntryRefused("invalid")
    token_id = str(payload.get("id", ""))
    customer = by_public_id(db.session, Customer, g.tenant.slug, str(payload.get("customer", "")))
    if customer is None or not token_id.startswith(ID_PREFIX) or not PUBLIC_ID.match(token_id):
        raise access.EntryRefused("invalid")
    visit = _bound_session(payload)
    if visit is None or visit.customer_id != customer.id:
        raise access.EntryRefused("invalid")
    if db.session.get(UsedToken, token_id) is not None:
        raise access.EntryRefused("used")
    if visit.ended_at is not None:
        raise access.EntryRefused("expired")
    return payload, visit, customer


def _use(payload: dict) -> bool:
    """Record the hand-off as used (flushes); False when it already was, on this instance or another."""
    token_id = str(payload.get("id", ""))
    if not PUBLIC_ID.match(token_id):
        return False
    db.session.add(UsedToken(token_id=token_id, tenant=g.tenant.slug))
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        return False
    return True


def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/enter/check")
def handoff_check():
    """Inside the frame, right after the entry: did the session cookie come back?"""
    token = request.args.get("handoff", "")[:4000]
    try:
        payload = tokens.load_expired(PURPOSE, g.tenant.slug, token)
    except tokens.BadToken:
        return login.refused_link("invalid", {})
    visit, bound = access.current(g.tenant.slug), _bound_session(payload)
    if visit is not None and bound is not None and visit.id == bound.id:
        if _use(payload):  # the cookie works here: the hand-off is not needed any more
            db.session.commit()
        return redirect(page_url(access.destination(payload.get("flow"))))
    try:
        payload, _visit, customer = _check(token)
    except access.EntryRefused as refusal:
        return login.refused_link(refusal.reason, _deep_link(token))
    g.customer_locale = customer.locale
    params = {key: value for key, value in carry().items() if key != "embed"}  # the new tab is top-level
    resume = current_app.config["WIDGET_PUBLIC_URL"] + url_for("portal.handoff_resume", handoff=token, **params)
    return _no_store(make_response(render_template("portal/handoff.html", resume_url=resume)))


@bp.get("/enter/resume")
def handoff_resume():
    """In a new tab: use the hand-off once and continue, signed in, at the page the entry link asked for."""
    token = request.args.get("handoff", "")[:4000]
    try:
        payload, visit, customer = _check(token)
        if not _use(payload):
            raise access.EntryRefused("used")
    except access.EntryRefused as refusal:
        return login.refused_link(refusal.reason, _deep_link(token))
    visit.ended_at = utcnow()  # the frame's session: the browser never kept its cookie
    access.start(g.tenant.slug, customer, return_url=visit.return_url)
    return redirect(page_url(access.destination(payload.get("flow"))))
