"""The daily billing and dunning jobs, as the worker runs them: each tenant up to its own today,
whatever the server's date."""
import logging
from datetime import date

import time_machine
from sqlalchemy import select

from tests.billing.test_tenant_days import bills_in, utc
from tests.tenants.test_loader import edit
from widget_server.billing.run import bill_due
from widget_server.extensions import jobs
from widget_server.storage.models import DunningNotice, Invoice
from widget_server.worker import jobs as job_functions


def notices(session) -> list[tuple[str, int, date]]:
    session.expire_all()
    rows = session.scalars(select(DunningNotice).order_by(DunningNotice.id))
    return [(n.tenant, n.stage, n.reached_on) for n in rows]


def test_the_billing_job_bills_each_tenant_up_to_its_own_today(worker_app, session, sign_up, themes_dir, caplog):
    bills_in(themes_dir, "demo", "Pacific/Auckland")
    bills_in(themes_dir, "fjord", "America/Los_Angeles")
    auckland = sign_up("pro", on=date(2026, 3, 2))
    sign_up("mellan", on=date(2026, 3, 2), tenant="fjord")
    jobs.flush()
    # The server's (UTC) date is 1 March; in Auckland it is 2 March 01:00, in Los Angeles 1 March 04:00.
    with time_machine.travel(utc(2026, 3, 1, 12, 0), tick=False), caplog.at_level(logging.INFO, "widget_server"):
        job_functions.billing_run.call_local()
        job_functions.billing_run.call_local()  # idempotent
    session.expire_all()
    assert session.scalars(select(Invoice.contract_id)).all() == [auckland.id]
    assert [t.name for t in jobs.pending()] == ["dispatch_outbox"]
    assert ("billing run up to each tenant's today (demo 2026-03-02, fjord 2026-03-01): 1 contract(s), 1 invoice(s), "
            "0 skipped") in caplog.text


def test_the_dunning_job_reminds_as_of_each_tenants_today(worker_app, session, tenants, sign_up, themes_dir, caplog):
    bills_in(themes_dir, "demo", "Pacific/Auckland")
    bills_in(themes_dir, "fjord", "America/Los_Angeles")
    sign_up("pro", on=date(2026, 1, 1))  # due 15 January (14 days), first reminder 7 days later
    sign_up("mellan", on=date(2026, 1, 1), tenant="fjord")  # due 31 January (30 days)
    bill_due(session, tenants, date(2026, 1, 1))
    jobs.flush()

    with time_machine.travel(utc(2026, 1, 21, 12, 0), tick=False), caplog.at_level(logging.INFO, "widget_server"):
        job_functions.dunning_run.call_local()  # server: 21 January; Auckland: 22 January 01:00
    assert notices(session) == [("demo", 1, date(2026, 1, 22))]
    assert [t.name for t in jobs.pending()] == ["send_emails"]
    assert ("dunning run as of each tenant's today (demo 2026-01-22): 1 reminder(s), 0 exhausted, 0 skipped"
            in caplog.text)

    with time_machine.travel(utc(2026, 2, 7, 5, 0), tick=False):
        job_functions.dunning_run.call_local()  # server: 7 February; Los Angeles: 6 February 21:00, 6 days late
    assert notices(session) == [("demo", 1, date(2026, 1, 22)), ("demo", 2, date(2026, 2, 7))]

    with time_machine.travel(utc(2026, 2, 7, 8, 0), tick=False):  # midnight in Los Angeles
        job_functions.dunning_run.call_local()
        job_functions.dunning_run.call_local()  # idempotent
    assert notices(session)[2:] == [("fjord", 1, date(2026, 2, 7))]


def test_a_reminder_is_due_by_the_tenants_calendar_not_the_servers(worker_app, session, tenants, sign_up, themes_dir):
    bills_in(themes_dir, "fjord", "America/Los_Angeles")
    theme = themes_dir / "fjord" / "theme.toml"
    edit(theme, "payment_terms_days = 30\n", "payment_terms_days = 30\ndunning_days = [1]\n")
    sign_up("mellan", on=date(2026, 1, 1), tenant="fjord")
    bill_due(session, tenants, date(2026, 1, 1))
    assert session.scalar(select(Invoice.due_date)) == date(2026, 1, 31)
    with time_machine.travel(utc(2026, 2, 1, 5, 0), tick=False):  # server: 1 February; Los Angeles: still the due date
        assert job_functions.run_dunning().reminders == 0
    with time_machine.travel(utc(2026, 2, 1, 8, 0), tick=False):
        assert job_functions.run_dunning().reminders == 1
    assert notices(session) == [("fjord", 1, date(2026, 2, 1))]
    assert job_functions.run_dunning(date(2026, 2, 1)).reminders == 0  # a given day, for every tenant: done already
