"""Security headers on every response.

Only the embed routes (the sign-up and portal blueprints) of a known tenant get a
frame-ancestors list from the tenant's allowlist; everything else 'none'. That
includes their error pages (a failed CSRF check, a too-large form): inside the
merchant's iframe the visitor must see the error, not a frame the browser refused.

Card pages (sign-up with card, portal card page) of tenants with Stripe call `allow_stripe`:
their policy also allows Stripe.js, its frames and its API (config STRIPE_CSP_SOURCES plus
the origin of WIDGET_STRIPE_JS_URL). No other page, and no other tenant, gets them.

Every policy carries a fresh nonce in script-src and style-src, so a template that really
needs an inline <script> or <style> writes `nonce="{{ csp_nonce() }}"`; nothing else inline
runs ('unsafe-inline' never appears, and nonces do not cover style="" or on...="" attributes).
Rendered pages are cached across visitors (web/page_cache.py: the sign-up form, the portal
overview), so `csp_nonce()` never returns the nonce itself: it returns a slot, a marker derived
from the secret key, and `set_headers` swaps that slot for the response's nonce in the body
when it writes the header. Every cache is therefore safe without knowing about nonces, and
header and page always agree. The slot must stay secret, or injected markup could write it and
be given the nonce: it is an HMAC of the secret key (the same in every process, so a cache
shared between processes works too) and does not leave the server, as every body held in
memory is filled (a few microseconds for a page). Streamed and file bodies are not, so
templates rendered that way must not call `csp_nonce()`.
"""
import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

from flask import current_app, g, request

CSP = (
    "default-src 'none'; script-src 'self' {nonce}; style-src 'self' {nonce}; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors {ancestors}"
)
_NONCE = "\x00"  # where a cached policy takes the response's 'nonce-...' source


# Blueprints whose pages are meant to be embedded (CONTRACT.md: sign-up and portal).
EMBED_BLUEPRINTS = frozenset({"signup", "portal"})


def _frame_ancestors() -> tuple[str, ...] | None:
    tenant = g.get("tenant")
    if request.blueprint in EMBED_BLUEPRINTS and tenant is not None:
        return ("'self'", *tenant.embed_origins)
    return None


def allow_stripe() -> None:
    """This page loads Stripe.js and the Payment Element: let its response's CSP allow Stripe.
    Card pages call it only for tenants with Stripe keys; every other page keeps the strict policy."""
    g.stripe_csp = True


def stripe_sources() -> dict[str, tuple[str, ...]]:
    """Per directive: Stripe's documented origins (config) plus the origin of WIDGET_STRIPE_JS_URL."""
    config = current_app.config
    url = urlsplit(config.get("WIDGET_STRIPE_JS_URL") or "")
    own = (f"{url.scheme}://{url.netloc}",) if url.scheme in ("http", "https") and url.netloc else ()
    sources = {}
    for directive, origins in (config.get("WIDGET_STRIPE_CSP_SOURCES") or {}).items():
        sources[directive] = tuple(dict.fromkeys((*own, *origins)))
    for directive in ("script-src", "frame-src", "connect-src"):
        sources.setdefault(directive, own)
    return sources


def _with_stripe(policy: str) -> str:
    sources = stripe_sources()
    for directive in ("script-src", "connect-src"):
        policy = policy.replace(f"{directive} 'self'", " ".join((f"{directive} 'self'", *sources[directive])), 1)
    return policy.replace("; form-action", "; " + " ".join(("frame-src", *sources["frame-src"])) + "; form-action", 1)


_FIXED = (("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "strict-origin-when-cross-origin"))
HSTS = "max-age=63072000; includeSubDomains"
_policies: dict[tuple[str, ...] | None, str] = {}


def _policy(ancestors: tuple[str, ...] | None) -> str:
    """The CSP for a frame-ancestors list with _NONCE where the nonce goes, formatted once per list
    (headers go on every response)."""
    found = _policies.get(ancestors)
    if found is None:
        found = _policies[ancestors] = CSP.format(ancestors=" ".join(ancestors) if ancestors else "'none'", nonce=_NONCE)
    return found


def csp_nonce() -> str:
    """For templates: `<script nonce="{{ csp_nonce() }}">`. The slot that set_headers fills with this
    response's nonce (see the module docstring: rendered pages may be cached across visitors)."""
    return current_app.extensions["csp_nonce_slot"]


def _fill_nonce(response, nonce: str) -> None:
    """Puts this response's nonce where the page called csp_nonce(), wherever it was rendered or cached."""
    if response.direct_passthrough or not response.is_sequence:  # files and streams: not rendered pages
        return
    body = response.get_data()
    slot = current_app.extensions["csp_nonce_slot_bytes"]
    if slot in body:
        response.set_data(body.replace(slot, nonce.encode()))


def set_headers(response):
    """Adds the security headers a view did not set itself."""
    headers = response.headers
    present = {key.lower() for key, _ in headers}
    nonce = secrets.token_urlsafe(16)
    _fill_nonce(response, nonce)
    ancestors = _frame_ancestors()
    policy = _policy(ancestors)
    if ancestors and g.get("stripe_csp"):  # a card page of a tenant with Stripe (allow_stripe)
        policy = _with_stripe(policy)
    wanted = [("Content-Security-Policy", policy.replace(_NONCE, f"'nonce-{nonce}'")), *_FIXED]
    if not ancestors:
        wanted.append(("X-Frame-Options", "DENY"))
    if request.is_secure:
        wanted.append(("Strict-Transport-Security", HSTS))
    for key, value in wanted:
        if key.lower() not in present:
            headers.add(key, value)
    return response


def init_app(app) -> None:
    key = app.config["SECRET_KEY"]
    key = key if isinstance(key, bytes) else str(key).encode()
    slot = hmac.new(key, b"widget csp nonce slot", hashlib.sha256).hexdigest()[:32]
    app.extensions["csp_nonce_slot"] = slot
    app.extensions["csp_nonce_slot_bytes"] = slot.encode()
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.after_request(set_headers)
