"""Security headers on every response.

Only views that mark themselves frameable (the embed routes) get a
frame-ancestors list from the tenant's allowlist; everything else 'none'.
"""
from flask import g, request

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors {ancestors}"
)


def allow_framing(origins) -> None:
    """Called by embed views: may be framed by these origins (besides our own)."""
    g.frame_ancestors = ("'self'", *origins)


def set_headers(response):
    ancestors = g.get("frame_ancestors")
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
