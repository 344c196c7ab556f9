"""The `widget-server` command (also `flask --app widget_server`)."""
import sys

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from . import create_app
from .notify.commands import webhooks
from .payments.sepa_cli import sepa
from .worker.commands import dunning, worker


@click.group(cls=FlaskGroup, create_app=create_app)
def main():
    """widget-server: hosted sign-up pages and customer portal."""


def init_app(app) -> None:
    """Our commands on app.cli, so `flask --app widget_server` and `widget-server` both have them."""
    for command in (db, themes, api_keys, demo, serve, billing, sepa, webhooks, dunning, worker):
        app.cli.add_command(command)


@click.group()
def db():
    """Database schema."""


@db.command("upgrade")
@with_appcontext
def db_upgrade():
    """Apply all migrations (creates the SQLite file under instance/ if needed)."""
    from .storage.migrate import upgrade
    upgrade(current_app.config["DATABASE_URL"])
    click.echo("database is up to date")


@click.group()
def themes():
    """Theme files."""


@themes.command("check")
@click.argument("tenant", required=False)
@with_appcontext
def themes_check(tenant):
    """Validate theme files; one line per problem, non-zero exit when any."""
    registry = current_app.extensions["widget_themes"]
    slugs = [tenant] if tenant else registry.slugs()
    if not slugs:
        click.echo(f"no themes found in {registry.themes_dir}", err=True)
        sys.exit(1)
    problems = [p for slug in slugs for p in registry.check(slug)]
    for problem in problems:
        click.echo(str(problem))
    from .payments.stripe import card_notes
    for note in card_notes(registry, slugs):  # keys live in the environment: a note, not a problem
        click.echo(note, err=True)
    if problems:
        sys.exit(1)
    click.echo(f"{len(slugs)} theme(s) OK: {', '.join(slugs)}", err=True)


@click.group("api-keys")
def api_keys():
    """Merchant API keys."""


@api_keys.command("create")
@click.argument("tenant")
@with_appcontext
def api_keys_create(tenant):
    """Create an API key for TENANT; it is printed once, alone, as the last line."""
    from .extensions import db as database
    from .storage.models import ApiKey
    registry = current_app.extensions["widget_themes"]
    if tenant not in registry.slugs():
        raise click.ClickException(f"unknown tenant '{tenant}' (no themes/{tenant}/theme.toml)")
    key, raw = ApiKey.generate(tenant)
    database.session.add(key)
    database.session.commit()
    click.echo(f"API key for {tenant} (shown only now; store it safely):", err=True)
    click.echo(raw)


@click.command("demo")
@with_appcontext
def demo():
    """Create or refresh the demo tenant's data (idempotent)."""
    from .demo import refresh
    from .tenants import TenantUnavailable, UnknownTenant
    try:
        lines = refresh()
    except UnknownTenant:
        raise click.ClickException("themes/demo/theme.toml is missing")
    except TenantUnavailable as exc:
        raise click.ClickException("the demo theme is broken:\n" + "\n".join(map(str, exc.problems)))
    for line in lines:
        click.echo(line)


@click.command("serve")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=8000, type=int)
@click.option("--merchant-port", default=None, type=int, help="Port of the demo merchant page (default: port + 1).")
def serve(host, port, merchant_port):
    """Serve the service and, on localhost, a demo merchant page that embeds it."""
    from .demo_site import serve_both
    serve_both(host, port, merchant_port or port + 1)


@click.group()
def billing():
    """Invoices and payments."""


@billing.command("run")
@click.option("--date", "up_to", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Bill everything due up to this day, for every tenant (default: each tenant's today "
                   "in its billing time zone).")
@with_appcontext
def billing_run(up_to):
    """Bill every period that has started up to --date; running it twice bills nothing twice."""
    from .worker.jobs import days_text, run_billing
    day = up_to.date() if up_to else None
    result = run_billing(day)
    click.echo(f"billed {result.contracts} contract(s) up to {days_text(day, result.up_to)}: "
               f"{result.invoices} invoice(s)")
    if result.skipped:
        click.echo(f"skipped {result.skipped} contract(s) whose theme is missing or broken (see `themes check`)", err=True)


if __name__ == "__main__":
    main()
