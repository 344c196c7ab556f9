"""`widget-server webhooks ...`: merchant webhook endpoints (kept in the database, never in theme files)."""
import click
from flask import current_app
from flask.cli import with_appcontext

from ..extensions import db
from . import webhooks as hooks


def _known_tenant(slug: str) -> str:
    if slug not in current_app.extensions["widget_themes"].slugs():
        raise click.ClickException(f"unknown tenant '{slug}' (no themes/{slug}/theme.toml)")
    return slug


@click.group()
def webhooks():
    """Merchant webhook endpoints."""


@webhooks.command("add")
@click.argument("tenant")
@click.argument("url")
@with_appcontext
def webhooks_add(tenant, url):
    """Send TENANT's events to URL; the signing secret is printed once, alone, as the last line."""
    _known_tenant(tenant)
    try:
        endpoint, secret = hooks.add_endpoint(db.session, tenant, url)
    except hooks.EndpointError as exc:
        raise click.ClickException(str(exc))
    db.session.commit()
    click.echo(f"webhook endpoint {endpoint.public_id} for {tenant}: {hooks.describe(endpoint.url)}", err=True)
    click.echo("signing secret (shown only now; verify the Widget-Signature header with it):", err=True)
    click.echo(secret)


@webhooks.command("list")
@click.argument("tenant")
@with_appcontext
def webhooks_list(tenant):
    """TENANT's endpoints: id, state, created, URL (secrets are never shown again)."""
    _known_tenant(tenant)
    found = hooks.endpoints(db.session, tenant, active_only=False)
    for endpoint in found:
        state = "disabled" if endpoint.disabled_at else "active"
        click.echo(f"{endpoint.public_id}\t{state}\t{endpoint.created_at:%Y-%m-%d %H:%M}Z\t{endpoint.url}")
    if not found:
        click.echo(f"no webhook endpoints for {tenant}", err=True)


@webhooks.command("remove")
@click.argument("tenant")
@click.argument("endpoint_id")
@with_appcontext
def webhooks_remove(tenant, endpoint_id):
    """Stop sending TENANT's events to ENDPOINT_ID (pending deliveries to it are cancelled)."""
    _known_tenant(tenant)
    endpoint = hooks.disable_endpoint(db.session, tenant, endpoint_id)
    if endpoint is None:
        raise click.ClickException(f"no webhook endpoint {endpoint_id} for {tenant}")
    db.session.commit()
    click.echo(f"webhook endpoint {endpoint_id} disabled")
