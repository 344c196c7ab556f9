"""Magic-link sign-in at /t/<t>/login (CONTRACT.md), for customers who arrive without the merchant's app.

The customer types an e-mail address; every customer of this tenant with that address
gets an e-mail with a link that works once and for the tenant's `link_minutes`. The
answer is the same whether or not the address belongs to anyone, and requests are rate
limited per address and per IP (Flask-Limiter; Redis when REDIS_URL is set). The link's
secret never reaches the database: it is derived from the LoginLink's public id with the
server's key when the e-mail is written, and only its hash is stored.

Following the link shows a button (mail scanners that fetch links must not use it up);
pressing it starts a portal session like an entry token does and opens the deep link.

The routes live outside the /t/<t>/portal prefix but keep `portal.` endpoint names, so
they are framed like the portal (web/headers.py) and share its error handlers.
"""
import hashlib
import logging
from datetime import timedelta
from urllib.parse import urlsplit

from flask import current_app, g, make_response, redirect, render_template, request
from flask_babel import gettext as _
from flask_limiter.errors import RateLimitExceeded
from sqlalchemy import select, update

from ..extensions import db, limiter
from ..notify import emails
from ..storage.base import utcnow
from ..storage.models import Customer, EmailMessage, LoginLink
from ..web.embedding import origin_allowed
from ..web.fields import EMAIL
from ..web.pages import page_url
from . import access, bp

log = logging.getLogger(__name__)

PURPOSE = "portal-login"
MAX_ACCOUNTS = 5  # one address may belong to several customers of a tenant: one link each, at most this many
DEFAULT_LIMIT_PER_ADDRESS = "5 per 15 minutes"
DEFAULT_LIMIT_PER_IP = "30 per 15 minutes"


# Pages whose URL holds a secret (or that lead to one): never passed on as a Referer, error pages included.
NO_REFERRER = {"portal.login", "portal.login_link", "portal.enter", "portal.confirm_email"}


@bp.after_request
def no_referrer(response):
    if request.endpoint in NO_REFERRER:
        response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _typed_address() -> str:
    value = request.form.get("email", "")
    return value.strip()[:254] if isinstance(value, str) else ""


def _address_key() -> str:
    """Rate-limit key of the typed address (hashed: no addresses in Redis keys)."""
    tenant = g.get("tenant")
    typed = f"{tenant.slug if tenant else ''}:{_typed_address().lower()}"
    return "login-address:" + hashlib.sha256(typed.encode()).hexdigest()[:32]


def _limit_per_address() -> str:
    return current_app.config.get("WIDGET_LOGIN_LIMIT_PER_ADDRESS") or DEFAULT_LIMIT_PER_ADDRESS


def _limit_per_ip() -> str:
    return current_app.config.get("WIDGET_LOGIN_LIMIT_PER_IP") or DEFAULT_LIMIT_PER_IP


def _deep_link() -> dict:
    """`flow` and `return_url` the form carries: from an entry token (expired or used), or a plain ?flow=."""
    source = request.form if request.method == "POST" else request.args
    entry = source.get("entry")
    found = access.deep_link(g.tenant.slug, entry) if isinstance(entry, str) and entry else {}
    flow = found.get("flow") or source.get("flow")
    return_url = found.get("return_url")
    if return_url and not return_url_allowed(g.tenant, return_url):
        return_url = None  # the allowlist changed since the merchant asked
    return {"flow": flow if flow in access.FLOWS else None, "return_url": return_url,
            "entry": entry if found else None}


def return_url_allowed(tenant, url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and origin_allowed(f"{parts.scheme}://{parts.netloc}", tenant.embed_origins)


def login_form(status: int = 200, *, notice: str | None = None, error: str | None = None, email: str = "",
               deep: dict | None = None):
    """The sign-in form; also shown by a refused entry or sign-in link (with `notice`)."""
    deep = deep if deep is not None else _deep_link()
    page = render_template("portal/login.html", notice=notice, error=error, email=email, flow=deep.get("flow"),
                           entry=deep.get("entry"))
    return make_response(page, status)


def login():
    """GET: the form. POST: send sign-in links; the same answer for every well-formed address."""
    if request.method == "GET":
        return login_form()
    deep = _deep_link()
    address = _typed_address()
    if not address or not EMAIL.match(address):
        error = _("Please enter a valid e-mail address, e.g. name@example.com.")
        return login_form(422, error=error, email=address, deep=deep)
    if send_links(g.tenant, address, flow=deep["flow"], return_url=deep["return_url"]):
        _enqueue_sending()
    return render_template("portal/login_sent.html", email=address, minutes=g.tenant.portal.link_minutes)


def send_links(tenant, address: str, *, flow: str | None, return_url: str | None) -> int:
    """A link and its e-mail for each customer of the tenant with this address (commits); how many."""
    customers = db.session.scalars(
        select(Customer).where(Customer.tenant == tenant.slug, Customer.email.in_({address, address.lower()}))
        .order_by(Customer.id.desc()).limit(MAX_ACCOUNTS)
    ).all()
    now = utcnow()
    expires = now + timedelta(seconds=access.link_seconds(tenant))
    for customer in customers:
        link = LoginLink(tenant=tenant.slug, customer_id=customer.id, flow=flow, return_url=return_url,
                         created_at=now, expires_at=expires, token_hash="")
        db.session.add(link)
        db.session.flush()  # the public id is set: derive the secret and keep only its hash
        link.token_hash = access.hash_secret(access.link_secret(PURPOSE, link.public_id))
        db.session.add(EmailMessage(tenant=tenant.slug, customer_id=customer.id, kind="portal_login",
                                    key=f"portal_login:{link.public_id}", recipient=customer.email,
                                    next_attempt_at=now, created_at=now))
    db.session.commit()
    return len(customers)


def _enqueue_sending() -> None:
    """Ask the worker to send now rather than at its next minute; it sends them then anyway."""
    try:
        from ..worker.jobs import send_emails
        send_emails()
    except Exception:  # the queue is down: the periodic job still finds the e-mails in the database
        log.warning("could not enqueue sending the sign-in e-mail; the worker sends it within a minute", exc_info=True)


def _refused(reason: str):
    notices = {
        "expired": _("This sign-in link has expired. Please ask for a new one below."),
        "used": _("This sign-in link has already been used. For your security each link works only once; "
                  "please ask for a new one below."),
        "invalid": _("This sign-in link is not valid. Please ask for a new one below."),
    }
    return login_form(400, notice=notices[reason], deep={})


def refused_link(reason: str, deep: dict):
    """A refused link into the portal (an entry link or its hand-off): why, in the customer's language, and
    the e-mail sign-in, which opens the same page afterwards. `deep` is what the link asked for."""
    if deep.get("locale"):
        g.customer_locale = deep["locale"]  # the page speaks the language the merchant asked for
    messages = {
        "expired": _("This link has expired. Links to your customer account are valid for a short time only; "
                     "please ask for a new one."),
        "used": _("This link has already been used. For your security each link works only once; "
                  "please ask for a new one."),
        "invalid": _("This link is not valid. Please ask for a new one."),
    }
    notice = messages[reason] + " " + _("Or enter your e-mail address and we will send you a sign-in link.")
    return login_form(400, notice=notice, deep=deep)


def _link(token: str) -> LoginLink | None:
    if not token or len(token) > 100:
        return None
    return db.session.scalar(select(LoginLink).where(LoginLink.token_hash == access.hash_secret(token),
                                                     LoginLink.tenant == g.tenant.slug))


def follow(token: str):
    """GET: check the link and offer to sign in. POST: use it up and start a portal session."""
    link = _link(token)
    if link is None:
        return _refused("invalid")
    customer = db.session.get(Customer, link.customer_id)
    g.customer_locale = customer.locale
    now = utcnow()
    if link.used_at is not None:
        return _refused("used")
    if link.expires_at <= now:
        return _refused("expired")
    if request.method == "GET":
        return render_template("portal/login_confirm.html", token=token)
    used = db.session.execute(
        update(LoginLink).where(LoginLink.id == link.id, LoginLink.used_at.is_(None), LoginLink.expires_at > now)
        .values(used_at=now).execution_options(synchronize_session=False)
    ).rowcount == 1
    if not used:  # another request used it a moment ago
        db.session.rollback()
        return _refused("used")
    access.start(g.tenant.slug, customer, return_url=link.return_url)
    return redirect(page_url(access.destination(link.flow)), code=303)


def limited(exc: RateLimitExceeded):
    """Too many sign-in requests: a page in the visitor's language, not a bare 429."""
    return make_response(render_template("portal/login_limited.html"), 429)


# The rate limits count POSTs only (sending e-mails), per typed address and per client address.
login = limiter.limit(_limit_per_ip, methods=["POST"], scope="portal-login-ip")(login)
login = limiter.limit(_limit_per_address, key_func=_address_key, methods=["POST"], scope="portal-login-address")(login)


@bp.record_once
def _register(state) -> None:
    """CONTRACT.md puts the form at /t/<t>/login, beside (not under) /t/<t>/portal."""
    state.app.add_url_rule("/t/<tenant_slug>/login", endpoint="portal.login", view_func=login, methods=["GET", "POST"])
    state.app.add_url_rule("/t/<tenant_slug>/login/<token>", endpoint="portal.login_link", view_func=follow,
                           methods=["GET", "POST"])


bp.register_error_handler(RateLimitExceeded, limited)


def compose_login(session, message: EmailMessage, tenant, customer: Customer, context: dict) -> str:
    """The sign-in e-mail (notify.emails.COMPOSERS): its link is derived again from the LoginLink's id."""
    public_id = message.key.split(":", 1)[1]
    link = session.scalar(select(LoginLink).where(LoginLink.public_id == public_id))
    if link is None or link.used_at is not None or link.expires_at <= utcnow():
        raise emails.NothingToSend("the sign-in link was used or has expired before it could be sent")
    secret = access.link_secret(PURPOSE, link.public_id)
    context.update(url=f"{current_app.config['WIDGET_PUBLIC_URL']}/t/{tenant.slug}/login/{secret}",
                   minutes=tenant.portal.link_minutes, customer_number=customer.public_id)
    return _("Your sign-in link for %(brand)s", brand=tenant.brand.name)


emails.COMPOSERS["portal_login"] = compose_login
