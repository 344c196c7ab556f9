"""Pre-filled sign-up links from the merchant API: signed, so they cannot be tampered with."""
from dataclasses import dataclass, field

from flask import request

from widget_server import tokens

PURPOSE = "signup-prefill"


@dataclass(frozen=True)
class Prefill:
    token: str | None = None
    plan: str | None = None
    locale: str | None = None
    values: dict = field(default_factory=dict)
    locked: frozenset = frozenset()

    @property
    def locked_values(self) -> dict:
        return {k: v for k, v in self.values.items() if k in self.locked}


def from_request(tenant) -> Prefill:
    """The prefill of this request (query or form), or an empty one. Raises tokens.BadToken."""
    token = request.values.get("prefill")
    if not token:
        return Prefill()
    payload = tokens.load(PURPOSE, tenant.slug, token[:4000])
    values = payload.get("values") or {}
    known = {f.name for f in tenant.fields}
    return Prefill(
        token=token,
        plan=payload.get("plan"),
        locale=payload.get("locale"),
        values={k: v for k, v in values.items() if k in known},
        locked=frozenset(k for k in payload.get("locked") or () if k in known and k in values),
    )


def sign(tenant_slug: str, *, plan=None, locale=None, values=None, locked=None) -> str:
    return tokens.sign(PURPOSE, tenant_slug, {"plan": plan, "locale": locale, "values": values or {}, "locked": list(locked or [])})
