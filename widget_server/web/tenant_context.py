"""Every URL under /t/<tenant_slug>/ loads that tenant into g.tenant, and URLs built
while serving it get the slug filled in."""
from flask import current_app, g


def load_tenant(endpoint, values):
    if values and "tenant_slug" in values:
        g.tenant = current_app.extensions["widget_themes"].get(values.pop("tenant_slug"))


def add_tenant_slug(endpoint, values):
    tenant = g.get("tenant")
    if tenant is not None and "tenant_slug" not in values and current_app.url_map.is_endpoint_expecting(endpoint, "tenant_slug"):
        values["tenant_slug"] = tenant.slug


def init_app(app) -> None:
    app.url_value_preprocessor(load_tenant)
    app.url_defaults(add_tenant_slug)
