"""Ways into the portal: one-time entry tokens and server-side portal sessions.

An entry token is signed for its purpose and tenant, expires (10 minutes by
default) and is recorded on use, so it cannot be replayed on any instance. The
session cookie holds a random key; the database keeps its hash, the customer
and the timestamps that enforce the idle timeout and the absolute lifetime.
"""
import hashlib
import secrets
from datetime import datetime, timedelta, timezone

from functools import wraps

from flask import current_app, g, session
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import tokens
from ..extensions import db
from ..storage.base import PUBLIC_ID, utcnow
from ..storage.models import Customer, PortalSession, UsedToken
from ..storage.queries import by_public_id

PURPOSE = "portal-entry"
COOKIE_KEY = "portal"  # in the Flask session: tenant slug -> portal session key
FLOWS = ("payment_method", "change_plan", "cancel", "invoices", "profile")


class EntryRefused(Exception):
    """The link is invalid, expired, used or not for this tenant; `reason` says which."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def issue(tenant: str, customer: Customer, *, flow: str | None, return_url: str | None, locale: str | None) -> tuple[str, str]:
    """A one-time entry token and its id."""
    token_id = "ps_" + secrets.token_urlsafe(16)
    token = tokens.sign(PURPOSE, tenant, {"id": token_id, "customer": customer.public_id, "flow": flow,
                                          "return_url": return_url, "locale": locale})
    return token, token_id


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def enter(tenant: str, token: str) -> tuple[PortalSession, dict]:
    """Exchange a token for a new portal session (a new session key at every entry)."""
    try:
        payload = tokens.load(PURPOSE, tenant, token[:4000])
    except tokens.TokenExpired:
        raise EntryRefused("expired")
    except tokens.BadToken:
        raise EntryRefused("invalid")
    token_id, customer_id = str(payload.get("id", "")), str(payload.get("customer", ""))
    customer = by_public_id(db.session, Customer, tenant, customer_id)
    if customer is None or not PUBLIC_ID.match(token_id):
        raise EntryRefused("invalid")
    db.session.add(UsedToken(token_id=token_id, tenant=tenant))
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise EntryRefused("used")
    key = secrets.token_urlsafe(32)
    visit = PortalSession(key_hash=_hash(key), tenant=tenant, customer_id=customer.id)
    db.session.add(visit)
    db.session.commit()
    session.pop(COOKIE_KEY, None)  # never reuse a key from before this entry
    session[COOKIE_KEY] = {tenant: key}
    return visit, payload


def current(tenant: str) -> PortalSession | None:
    """The live portal session of this browser for this tenant, refreshed; None if absent or timed out."""
    key = (session.get(COOKIE_KEY) or {}).get(tenant)
    if not isinstance(key, str):
        return None
    visit = db.session.scalar(select(PortalSession).where(PortalSession.key_hash == _hash(key), PortalSession.tenant == tenant,
                                                          PortalSession.ended_at.is_(None)))
    if visit is None:
        return None
    now = datetime.now(timezone.utc)
    idle = timedelta(minutes=current_app.config["WIDGET_PORTAL_IDLE_MINUTES"])
    lifetime = timedelta(hours=current_app.config["WIDGET_PORTAL_MAX_HOURS"])
    if now - visit.last_seen_at > idle or now - visit.created_at > lifetime:
        visit.ended_at = now
        db.session.commit()
        return None
    visit.last_seen_at = utcnow()
    db.session.commit()
    return visit


def leave(tenant: str) -> None:
    visit = current(tenant)
    if visit is not None:
        visit.ended_at = utcnow()
        db.session.commit()
    session.pop(COOKIE_KEY, None)


def signed_in(view):
    """Portal pages need a live portal session: sets g.visit and g.customer, else answers 401."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        from ..web.errors import render_error  # the error page imports the app's templates lazily

        visit = current(g.tenant.slug)
        if visit is None:
            return render_error(401, _("Please open your customer account with the link you received from %(shop)s.",
                                       shop=g.tenant.brand.name))
        g.visit = visit
        g.customer = db.session.get(Customer, visit.customer_id)
        g.customer_locale = g.customer.locale
        return view(*args, **kwargs)

    return wrapper
