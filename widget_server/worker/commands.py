"""`widget-server worker` (runs the jobs) and `widget-server dunning run`."""
import logging
import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from ..extensions import jobs


@click.command("worker")
@click.option("--threads", type=int, default=None, help="Jobs run at once (default: WIDGET_WORKER_THREADS, 2).")
@with_appcontext
def worker(threads):
    """Run background jobs: billing and dunning runs, e-mails, webhooks (until stopped)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for name in ("huey", "widget_server"):
        logger = logging.getLogger(name)
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    threads = threads or current_app.config["WIDGET_WORKER_THREADS"]
    click.echo(f"worker: {threads} thread(s), jobs queued in {jobs.backend} ({jobs.name})", err=True)
    consumer = jobs.create_consumer(workers=threads, worker_type="thread", periodic=True, check_worker_health=True)
    consumer.run()


@click.group()
def dunning():
    """Payment reminders for overdue invoices."""


@dunning.command("run")
@click.option("--date", "on", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Remind as of this day, for every tenant (default: each tenant's today in its billing time zone).")
@with_appcontext
def dunning_run(on):
    """Record every reminder stage reached and queue its e-mail; running it twice reminds nobody twice."""
    from .jobs import days_text, run_dunning, send_emails
    day = on.date() if on else None
    result = run_dunning(day)
    click.echo(f"dunning as of {days_text(day, result.as_of)}: {result.reminders} reminder(s), {result.exhausted} "
               f"invoice(s) past the last stage")
    if result.skipped:
        click.echo(f"skipped {result.skipped} invoice(s) whose theme is missing or broken (see `themes check`)", err=True)
    if result.reminders:
        send_emails()  # the worker sends them now (or at its next minute)
