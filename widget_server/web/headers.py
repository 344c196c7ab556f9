"""Security headers on every response.

Only the embed routes (the sign-up and portal blueprints) of a known tenant get a
frame-ancestors list from the tenant's allowlist; everything else 'none'. That
includes their error pages (a failed CSRF check, a too-large form): inside the
merchant's iframe the visitor must see the error, not a frame the browser refused.
"""
from flask import g, request

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors {ancestors}"
)


# Blueprints whose pages are meant to be embedded (CONTRACT.md: sign-up and portal).
EMBED_BLUEPRINTS = frozenset({"signup", "portal"})


def _frame_ancestors() -> tuple[str, ...] | None:
    tenant = g.get("tenant")
    if request.blueprint in EMBED_BLUEPRINTS and tenant is not None:
        return ("'self'", *tenant.embed_origins)
    return None


def set_headers(response):
    ancestors = _frame_ancestors()
    response.headers.setdefault("Content-Security-Policy", CSP.format(ancestors=" ".join(ancestors) if ancestors else "'none'"))
    if not ancestors:
        response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
    return response


def init_app(app) -> None:
    app.after_request(set_headers)
