"""The jobs `widget-server worker` runs.

Periodic (times in UTC):
- billing_run      daily at WIDGET_BILLING_RUN_AT (02:00): bills everything due up to each tenant's
                   today (in its billing time zone), as `widget-server billing run` does;
- dunning_run      daily at WIDGET_DUNNING_RUN_AT (07:00): reminders for invoices overdue as of each
                   tenant's today, as `widget-server dunning run` does;
- card_charges     daily at WIDGET_CARD_CHARGE_RUN_AT (03:00, after the billing run): charges the
                   due open invoices of card customers to their saved cards, for every tenant with
                   a Stripe secret key (payments.stripe.charge_due; charged once, see there);
- dispatch_outbox  every minute: new outbox events become e-mails and webhook deliveries;
- deliver_webhooks every minute: webhook attempts that are due (first tries and retries);
- send_emails      every minute: e-mails that are due (first tries and retries).

Each job also enqueues the follow-up work it creates, so an invoice e-mail leaves
right after the billing run rather than a minute later. All of them are safe to run
twice or on several workers at once (see the modules they call); the database, not
the queue, says what is left to do, so a lost job only delays work.
"""
import logging
from datetime import date

from flask import current_app

from ..billing.dunning import DunningResult, remind_overdue
from ..billing.run import RunResult, bill_due
from ..extensions import db, jobs
from ..notify import emails, outbox, webhooks
from ..tenants import TenantUnavailable, UnknownTenant

log = logging.getLogger(__name__)


def every_minute(_moment) -> bool:
    return True


def daily_at(config_key: str):
    """A periodic check: true in the minute the bound app's config names ("HH:MM", UTC)."""
    def when(moment) -> bool:
        hours, minutes = jobs.bound_app().config[config_key].split(":")
        return moment.hour == int(hours) and moment.minute == int(minutes)
    when.config_key = config_key
    return when


def tenant_or_none(slug: str):
    try:
        return current_app.extensions["widget_themes"].get(slug)
    except (UnknownTenant, TenantUnavailable):
        return None


# The work itself, callable from commands and tests (inside an app context).

def run_billing(day: date | None = None) -> RunResult:
    """Bill up to `day` for every tenant, or (None) each tenant up to its own today."""
    return bill_due(db.session, tenant_or_none, day)


def run_dunning(day: date | None = None) -> DunningResult:
    """Remind as of `day` for every tenant, or (None) as of each tenant's own today."""
    return remind_overdue(db.session, tenant_or_none, day)


def days_text(day: date | None, days: dict[str, date]) -> str:
    """The day(s) a run went up to, for its log line: '2026-03-01', or each tenant's own today."""
    if day is not None:
        return day.isoformat()
    if not days:
        return "each tenant's today"
    return "each tenant's today (" + ", ".join(f"{slug} {d.isoformat()}" for slug, d in sorted(days.items())) + ")"


def run_dispatch() -> outbox.DispatchResult:
    return outbox.dispatch(db.session)


def run_deliveries() -> webhooks.DeliveryResult:
    config = current_app.config
    return webhooks.deliver_due(db.session, timeout=config["WIDGET_WEBHOOK_TIMEOUT"],
                                max_attempts=config["WIDGET_WEBHOOK_MAX_ATTEMPTS"],
                                lease_margin=config["WIDGET_WEBHOOK_LEASE_MARGIN"])


def run_emails() -> emails.SendResult:
    return emails.send_due(db.session)


# The jobs.

@jobs.periodic_job(daily_at("WIDGET_BILLING_RUN_AT"))
def billing_run():
    result = run_billing()
    log.info("billing run up to %s: %d contract(s), %d invoice(s), %d skipped", days_text(None, result.up_to),
             result.contracts, result.invoices, result.skipped)
    if result.invoices:
        dispatch_outbox()


@jobs.periodic_job(daily_at("WIDGET_DUNNING_RUN_AT"))
def dunning_run():
    result = run_dunning()
    log.info("dunning run as of %s: %d reminder(s), %d exhausted, %d skipped", days_text(None, result.as_of),
             result.reminders, result.exhausted, result.skipped)
    if result.reminders:
        send_emails()
    if result.exhausted:
        dispatch_outbox()


@jobs.periodic_job(every_minute)
def dispatch_outbox():
    result = run_dispatch()
    if result.events:
        log.info("dispatched %d event(s): %d e-mail(s), %d webhook deliveries", result.events, result.emails,
                 result.deliveries)
    if result.emails:
        send_emails()
    if result.deliveries:
        deliver_webhooks()


@jobs.periodic_job(every_minute)
def deliver_webhooks():
    if run_deliveries().more:
        deliver_webhooks()  # the rest in a new job, so other jobs get a turn in between


@jobs.periodic_job(every_minute)
def send_emails():
    if run_emails().more:
        send_emails()


# Cards (Stripe): renewals are charged off-session when their invoice is due.

def run_card_charges(day: date | None = None) -> dict:
    """Tenant slug -> CollectionResult for every tenant with a Stripe secret key, each tenant in its
    own transaction. Invoices are due up to `day` (default: the tenant's today). Safe to repeat:
    a paid invoice is not charged again, and a repeated request gets Stripe's first answer back
    (idempotency key per invoice and attempt)."""
    from ..payments import stripe as stripe_payments

    results = {}
    for slug in current_app.extensions["widget_themes"].slugs():
        tenant = tenant_or_none(slug)
        if tenant is None or stripe_payments.account(slug) is None:
            continue
        try:
            results[slug] = stripe_payments.charge_due(db.session, tenant, day or tenant.today())
            db.session.commit()
        except Exception:  # one tenant's trouble must not stop the others; the next run retries
            db.session.rollback()
            log.exception("card charges for tenant %s failed", slug)
    return results


@jobs.periodic_job(daily_at("WIDGET_CARD_CHARGE_RUN_AT"))
def card_charges():
    results = run_card_charges()
    for slug, result in results.items():
        if result.invoices or result.skipped:
            log.info("card charges for %s: %d invoice(s) charged, %d skipped", slug, len(result.invoices), len(result.skipped))
    if any(r.invoices or r.skipped for r in results.values()):
        dispatch_outbox()
