"""`widget-server sepa export`: the pain.008 file of a tenant's due SEPA direct debits;
`widget-server sepa return`: the debits the bank took back (payments/sepa_returns.py).

The export is one database transaction per tenant. The file is first written under a
temporary name next to its target, then the transaction commits, then the file gets its
name: if the commit fails there is no file (and nothing was marked as collected); if
renaming fails after the commit, the XML is still stored in sepa_collection.xml.
"""
import os
import re
import tempfile
from datetime import date
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from ..billing.money import from_minor
from .sepa import CURRENCY, SCHEMA, SCHEMAS, SepaError, SepaNotConfigured, creditor, export

DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _parse_day(_ctx, _param, value: str) -> date:
    try:
        if not DAY.match(value or ""):
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"must be a day like 2026-11-30, not '{value}'") from None


def _money(minor: int) -> str:
    return f"{from_minor(minor, CURRENCY)} {CURRENCY}"


@click.group()
def sepa():
    """SEPA direct debit collections."""


@sepa.command("export")
@click.option("--date", "due_up_to", required=True, callback=_parse_day, metavar="YYYY-MM-DD",
              help="Collect open invoices due up to this day (at most 14 days after today).")
@click.option("--tenant", default=None, help="Only this tenant (default: every tenant with SEPA configured).")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the XML to this file (needs --tenant). Default: instance/sepa/<tenant>-<message id>.xml.")
@click.option("--schema", type=click.Choice(SCHEMAS), default=SCHEMA, show_default=True, help="pain.008 version.")
@with_appcontext
def sepa_export(due_up_to, tenant, output, schema):
    """Export open invoices of SEPA customers due up to --date as a pain.008 file; never twice."""
    from ..tenants import TenantUnavailable, UnknownTenant
    registry = current_app.extensions["widget_themes"]

    if output is not None and tenant is None:
        raise click.UsageError("--output needs --tenant (one file per tenant)")
    if output is not None and output.exists():
        raise click.ClickException(f"{output} already exists; choose another file (an exported file may not be uploaded yet)")

    if tenant is not None:
        try:
            tenants = [registry.get(tenant)]
        except UnknownTenant:
            raise click.ClickException(f"unknown tenant '{tenant}' (no themes/{tenant}/theme.toml)") from None
        except TenantUnavailable:
            raise click.ClickException(f"the theme of '{tenant}' is broken; see `widget-server themes check {tenant}`") from None
        try:
            creditor(tenants[0], schema)
        except SepaNotConfigured as exc:
            raise click.ClickException(str(exc)) from None
    else:
        tenants = []
        for slug in registry.slugs():
            try:
                candidate = registry.get(slug)
            except (UnknownTenant, TenantUnavailable):
                click.echo(f"{slug}: skipped, its theme is broken (see `widget-server themes check {slug}`)", err=True)
                continue
            try:
                creditor(candidate, schema)
            except SepaNotConfigured as exc:
                if "sepa" in candidate.payment_methods or candidate.sepa_creditor_id:
                    click.echo(f"{slug}: skipped, {exc}", err=True)
                continue
            tenants.append(candidate)
        if not tenants:
            raise click.ClickException("no tenant has SEPA direct debit configured ([payments.sepa] and [billing.bank])")

    failures = [t.slug for t in tenants if not _export_one(t, due_up_to, output, schema)]
    if failures:
        raise click.ClickException(f"no file was exported for: {', '.join(failures)}")


def _export_one(tenant, due_up_to: date, output: Path | None, schema: str) -> bool:
    """Export one tenant; True when it worked (also when there was nothing to collect)."""
    from ..extensions import db
    session = db.session
    try:
        result = export(session, tenant, up_to=due_up_to, today=tenant.today(), actor="system", schema=schema)
    except SepaError as exc:
        session.rollback()
        click.echo(f"{tenant.slug}: {exc}", err=True)
        return False
    for number, reason in result.skipped.items():
        click.echo(f"{tenant.slug}: left out {number}: {reason}", err=True)
    for use in result.credit:
        paid = ", paid in full" if use.settles else ""
        click.echo(f"{tenant.slug}: used {_money(use.amount_minor)} of the customer's credit for {use.invoice.number}{paid}")
    if not result.debits:
        session.commit()  # only the credit used up, if any
        click.echo(f"{tenant.slug}: nothing to collect up to {due_up_to.isoformat()}")
        return True

    target = output or Path(current_app.instance_path) / "sepa" / f"{tenant.slug}-{result.message_id}.xml"
    try:
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")  # mode 0600
        with os.fdopen(handle, "wb") as file:
            file.write(result.xml)
            file.flush()
            os.fsync(file.fileno())
    except OSError as exc:
        session.rollback()
        click.echo(f"{tenant.slug}: cannot write {target}: {exc.strerror}; nothing was exported", err=True)
        return False
    try:
        session.commit()
    except Exception:
        session.rollback()
        os.unlink(temporary)
        raise
    try:
        os.replace(temporary, target)
    except OSError as exc:
        click.echo(f"{tenant.slug}: collection {result.message_id} is recorded, but {target} could not be written "
                   f"({exc.strerror}); its XML is kept in the database (sepa_collection.xml)", err=True)
        return False

    click.echo(f"{tenant.slug}: exported {len(result.debits)} direct debit(s), {_money(result.total_minor)}, "
               f"message {result.message_id} ({schema})")
    for sequence, day, count, total in result.groups():
        click.echo(f"  {sequence} on {day.isoformat()}: {count} debit(s), {_money(total)}")
    click.echo(f"  wrote {target}")
    return True


@sepa.command("return")
@click.option("--tenant", required=True, help="The tenant whose bank reported the returned debits.")
@click.option("--file", "path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The bank's camt.054 file, or a CSV with a header end_to_end_id,reason_code,return_date[,fee].")
@click.option("--skip-unknown", is_flag=True, help="Book the others when some end-to-end ids are not ours (default: book nothing).")
@with_appcontext
def sepa_return(tenant, path, skip_unknown):
    """Book returned SEPA direct debits (R-transactions): invoices open again, mandates revoked where the reason says so.

    One transaction: a file with an error books nothing. The same return twice is booked once."""
    from ..extensions import db
    from ..tenants import TenantUnavailable, UnknownTenant
    from .sepa_returns import ReturnError, book_return, charges_fees, describe, read_file
    try:
        found = current_app.extensions["widget_themes"].get(tenant)
    except UnknownTenant:
        raise click.ClickException(f"unknown tenant '{tenant}' (no themes/{tenant}/theme.toml)") from None
    except TenantUnavailable:
        raise click.ClickException(f"the theme of '{tenant}' is broken; see `widget-server themes check {tenant}`") from None
    try:
        source, notices = read_file(path.read_bytes())
    except ReturnError as exc:
        raise click.ClickException(f"{path}: {exc}; nothing was booked") from None
    session = db.session
    fees = charges_fees(found.slug)
    booked, again, unknown = [], [], []
    for notice in notices:
        try:
            result = book_return(session, found.slug, notice, charge_fee=fees, source=source, actor="merchant")
        except ReturnError as exc:
            if not skip_unknown:
                session.rollback()
                raise click.ClickException(f"{notice.end_to_end_id}: {exc} Nothing was booked "
                                           "(--skip-unknown books the others).") from None
            unknown.append(notice.end_to_end_id)
            click.echo(f"{tenant}: skipped {notice.end_to_end_id}: {exc}", err=True)
            continue
        (booked if result.created else again).append(result.sepa_return)
    session.commit()
    for row in booked:
        notes = [f"reason {row.reason_code} ({describe(row.reason_code)})", f"invoice {row.invoice.number} is {row.invoice.status}"]
        if row.reversed_minor:
            notes.append(f"{_money(row.reversed_minor)} payment reversed")
        if row.fee_charged:
            notes.append(f"fee {_money(row.fee_minor)} charged to the customer")
        if row.mandate_revoked:
            notes.append("mandate revoked")
        notes.append("will be debited again by the next export" if row.collect_again else "not debited again automatically")
        click.echo(f"{tenant}: returned {row.end_to_end_id}, {_money(row.amount_minor)}: " + "; ".join(notes))
    for row in again:
        click.echo(f"{tenant}: {row.end_to_end_id} was booked as returned before; nothing changed")
    click.echo(f"{tenant}: {len(booked)} return(s) booked, {len(again)} already booked, {len(unknown)} skipped")
