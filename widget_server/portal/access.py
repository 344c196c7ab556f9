"""Ways into the portal: one-time entry tokens and server-side portal sessions.

An entry token is signed for its purpose and tenant, expires (10 minutes by
default) and is recorded on use, so it cannot be replayed on any instance. The
session cookie holds a random key; the database keeps its hash, the customer
and the timestamps that enforce the idle timeout and the absolute lifetime.
"""
import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import partial, wraps

from flask import current_app, g, request, session
from flask_babel import gettext as _
from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError

from .. import tokens
from ..extensions import db
from ..storage.base import PUBLIC_ID, utcnow
from ..storage.models import Customer, PortalSession, UsedToken
from ..storage.queries import by_public_id
from ..storage.revisions import stamp_columns

PURPOSE = "portal-entry"
COOKIE_KEY = "portal"  # in the Flask session: tenant slug -> portal session key
SEEN_PRECISION = timedelta(seconds=60)  # how stale last_seen_at may be
FLOWS = ("payment_method", "change_plan", "cancel", "invoices", "profile")
# Where each deep link leads (pages other modules register; missing ones fall back to the overview).
FLOW_ENDPOINTS = {flow: f"portal.{flow}" for flow in FLOWS}


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


def link_secret(purpose: str, public_id: str) -> str:
    """The secret of an e-mailed link (sign-in, e-mail change), derived from its row's public id with the
    server's key: the database holds only its hash, and any worker can write the e-mail again."""
    key = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(key, f"widget-server.{purpose}:{public_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def hash_secret(secret: str) -> str:
    return _hash(secret)


def link_seconds(tenant) -> int:
    """How long a link into the portal works: the tenant's `[portal] link_minutes` (10 by default)."""
    return int(tenant.portal.link_minutes) * 60


def deep_link(tenant: str, token: str) -> dict:
    """`flow`, `return_url` and `locale` of an entry token that may be expired or used (never who it was for).

    Empty when the token is not genuine or not this tenant's."""
    try:
        payload = tokens.load_expired(PURPOSE, tenant, token[:4000])
    except tokens.BadToken:
        return {}
    flow = payload.get("flow")
    return_url = payload.get("return_url")
    locale = payload.get("locale")
    return {"flow": flow if flow in FLOWS else None, "return_url": return_url if isinstance(return_url, str) else None,
            "locale": locale if isinstance(locale, str) else None}


def enter(tenant, token: str) -> tuple[PortalSession, dict]:
    """Exchange a token for a new portal session (a new session key at every entry)."""
    try:
        payload = tokens.load(PURPOSE, tenant.slug, token[:4000], max_age_seconds=link_seconds(tenant))
    except tokens.TokenExpired:
        raise EntryRefused("expired")
    except tokens.BadToken:
        raise EntryRefused("invalid")
    token_id, customer_id = str(payload.get("id", "")), str(payload.get("customer", ""))
    customer = by_public_id(db.session, Customer, tenant.slug, customer_id)
    if customer is None or not PUBLIC_ID.match(token_id):
        raise EntryRefused("invalid")
    db.session.add(UsedToken(token_id=token_id, tenant=tenant.slug))
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise EntryRefused("used")
    return_url = payload.get("return_url")
    visit = start(tenant.slug, customer, return_url=return_url if isinstance(return_url, str) else None)
    return visit, payload


def start(tenant: str, customer: Customer, *, return_url: str | None = None) -> PortalSession:
    """A new portal session for this browser (commits).

    Session fixation: the key is always new, and the session this browser had before for
    this tenant ends, so no key from before the sign-in works afterwards."""
    previous = current(tenant, refresh=False)
    if previous is not None:
        _end(previous)
    key = secrets.token_urlsafe(32)
    visit = PortalSession(key_hash=_hash(key), tenant=tenant, customer_id=customer.id, return_url=return_url)
    db.session.add(visit)
    db.session.commit()
    session.pop(COOKIE_KEY, None)  # never reuse a key from before this entry
    session[COOKIE_KEY] = {tenant: key}
    return visit


def destination(flow: str | None) -> str:
    """The endpoint a deep link opens: its page when that page exists, else the overview."""
    endpoint = FLOW_ENDPOINTS.get(flow or "")
    if endpoint and endpoint in current_app.view_functions:
        return endpoint
    return "portal.overview"


@dataclass(frozen=True)
class Visit:
    """A live portal session as pages read it: one indexed query, no ORM object to build."""

    id: int
    customer_id: int
    return_url: str | None
    created_at: datetime
    last_seen_at: datetime
    customer_public_id: str
    customer_locale: str
    stamp: tuple  # the customer's row revisions (storage/revisions.py), read in the same query


# Built once and plain Core: every portal page asks this, so it skips building the statement and the ORM.
_sessions, _customers = PortalSession.__table__.c, Customer.__table__.c
_LIVE = (
    select(_sessions.id, _sessions.customer_id, _sessions.return_url, _sessions.created_at, _sessions.last_seen_at,
           _customers.public_id, _customers.locale, *stamp_columns(_sessions.customer_id))
    .join_from(PortalSession.__table__, Customer.__table__, _customers.id == _sessions.customer_id)
    .where(_sessions.key_hash == bindparam("key_hash"), _sessions.tenant == bindparam("tenant"),
           _sessions.ended_at.is_(None))
)
_ENDED = update(PortalSession.__table__).where(_sessions.id == bindparam("visit")).values(ended_at=bindparam("at"))
_SEEN = update(PortalSession.__table__).where(_sessions.id == bindparam("visit")).values(last_seen_at=bindparam("at"))


def _end(visit: Visit) -> None:
    db.session.execute(_ENDED, {"visit": visit.id, "at": utcnow()})


def current(tenant: str, refresh: bool = True) -> Visit | None:
    """The live portal session of this browser for this tenant, refreshed; None if absent or timed out."""
    key = (session.get(COOKIE_KEY) or {}).get(tenant)
    if not isinstance(key, str):
        return None
    with db.reading() as connection:
        row = connection.execute(_LIVE, {"key_hash": _hash(key), "tenant": tenant}).first()
    if row is None:
        return None
    visit = Visit(*row[:7], stamp=tuple(row[7:]))
    now = datetime.now(timezone.utc)
    idle = timedelta(minutes=current_app.config["WIDGET_PORTAL_IDLE_MINUTES"])
    lifetime = timedelta(hours=current_app.config["WIDGET_PORTAL_MAX_HOURS"])
    if now - visit.last_seen_at > idle or now - visit.created_at > lifetime:
        _end(visit)
        db.session.commit()
        return None
    if refresh and now - visit.last_seen_at >= SEEN_PRECISION:
        # Recording every page view would make each one a write; a minute is precise enough for the idle timeout.
        db.session.execute(_SEEN, {"visit": visit.id, "at": now})
        db.session.commit()
    return visit


def leave(tenant: str) -> None:
    visit = current(tenant)
    if visit is not None:
        _end(visit)
        db.session.commit()
    session.pop(COOKIE_KEY, None)


def signed_in(view=None, *, load_customer: bool = True):
    """Portal pages need a live portal session: sets g.visit and g.customer, else answers 401.

    A page that reads the customer only sometimes (the cached overview) passes
    `load_customer=False` and loads it itself when it needs it."""
    if view is None:
        return partial(signed_in, load_customer=load_customer)

    @wraps(view)
    def wrapper(*args, **kwargs):
        from ..web.errors import render_error  # the error page imports the app's templates lazily

        visit = current(g.tenant.slug)
        if visit is None:
            from ..web.pages import page_url
            flow = next((f for f, endpoint in FLOW_ENDPOINTS.items() if endpoint == request.endpoint), None)
            sign_in = page_url("portal.login", **({"flow": flow} if flow else {}))
            return render_error(401, _("Please open your customer account with the link you received from %(shop)s.",
                                       shop=g.tenant.brand.name), action=(sign_in, _("Sign in with your e-mail address")))
        g.visit = visit
        g.customer_locale = visit.customer_locale
        if load_customer:
            g.customer = db.session.get(Customer, visit.customer_id)
        return view(*args, **kwargs)

    return wrapper
