"""Which merchant page frames us, checked against the tenant's allowlist.

embed.js passes the host page's origin as ?embed=; it is accepted only when the
allowlist matches, and frame.js then posts messages to that origin alone.
"""
import re
from functools import lru_cache

from flask import g, request


@lru_cache(maxsize=256)
def _pattern(source: str) -> re.Pattern:
    scheme, rest = source.split("://", 1)
    host, _, port = rest.partition(":")
    host_re = re.escape(host).replace(r"\*\.", r"(?:[A-Za-z0-9\-]+\.)+")
    port_re = r"(?::\d{1,5})?" if port == "*" else (re.escape(":" + port) if port else "")
    return re.compile(f"^{re.escape(scheme)}://{host_re}{port_re}$", re.IGNORECASE)


def origin_allowed(origin: str, allowed: tuple[str, ...]) -> bool:
    return any(_pattern(source).match(origin) for source in allowed)


def parent_origin(tenant) -> str | None:
    """The framing page's origin for this request, if it is on the allowlist."""
    if "parent_origin" not in g:
        origin = (request.args.get("embed") or "")[:200]
        g.parent_origin = origin if origin and origin_allowed(origin, tenant.embed_origins) else None
    return g.parent_origin
