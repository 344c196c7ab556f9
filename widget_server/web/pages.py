"""Template context for themed pages: tenant, locale, money and URLs that keep lang and embed."""
from flask import g, request, url_for
from flask_babel import format_currency, format_date, get_locale
from flask_babel import gettext as _

from ..i18n import AUTONYMS
from .embedding import parent_origin


def carry() -> dict:
    """Query parameters that follow the visitor from page to page."""
    params = {}
    tenant = g.get("tenant")
    lang = str(get_locale()) if tenant else None
    if request.args.get("lang") and lang:
        params["lang"] = lang
    if tenant and parent_origin(tenant):
        params["embed"] = g.parent_origin
    return params


def page_url(endpoint: str, **values) -> str:
    return url_for(endpoint, **{**carry(), **values})


def money(amount, currency: str) -> str:
    return format_currency(amount, currency)


def per_interval(plan) -> str:
    price = money(plan.price, plan.currency)
    if plan.interval == "year":
        return _("%(price)s per year", price=price)
    return _("%(price)s per month", price=price)


def language_links() -> list[tuple[str, str, str, bool]]:
    """(code, autonym, url, current) for the tenant's languages."""
    tenant = g.get("tenant")
    if not tenant or len(tenant.languages) < 2 or request.endpoint is None:
        return []
    current = str(get_locale())
    args = {k: v for k, v in request.args.items() if k != "lang"}
    values = {**(request.view_args or {}), **args}
    return [
        (code, AUTONYMS.get(code, code), url_for(request.endpoint, **values, lang=code), code == current)
        for code in tenant.languages
    ]


def stylesheet_url() -> str:
    tenant = g.get("tenant")
    if tenant:
        return url_for("tenant_assets.stylesheet", tenant_slug=tenant.slug, digest=tenant.css_hash)
    return url_for("static", filename="base.css")


def context() -> dict:
    tenant = g.get("tenant")
    return {
        "tenant": tenant,
        "locale": str(get_locale()),
        "page_url": page_url,
        "money": money,
        "format_date": format_date,
        "per_interval": per_interval,
        "language_links": language_links,
        "stylesheet_url": stylesheet_url,
        "parent_origin": parent_origin(tenant) if tenant else None,
        "tenant_text": (lambda key, fallback: (tenant.text(key, str(get_locale())) if tenant else None) or fallback),
    }


def init_app(app) -> None:
    app.context_processor(context)
