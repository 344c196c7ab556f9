"""Two processes running `billing run` at the same moment: no duplicates, no gaps."""
import os
import subprocess
import sys
from collections import defaultdict
from datetime import date, timedelta

from sqlalchemy import func, select

from widget_server.billing.contracts import PaymentChoice, start_contract
from widget_server.storage.models import Invoice

from tests.billing.test_tenant_days import bills_in
from tests.conftest import SIGNUP_FIELDS

CONTRACTS = 1200


def run_twice_at_once(app, database_url, themes_dir, *args) -> list[tuple[str, str]]:
    env = {**os.environ, "DATABASE_URL": database_url, "WIDGET_THEMES_DIR": str(themes_dir),
           "WIDGET_SECRET_KEY": app.config["SECRET_KEY"]}
    command = [sys.executable, "-m", "widget_server.cli", "billing", "run", *args]
    runs = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    return outputs


def assert_gap_free(session, tenant: str) -> list[str]:
    numbers = session.scalars(select(Invoice.number).where(Invoice.tenant == tenant)).all()
    by_year = defaultdict(list)
    for number in numbers:
        _prefix, year, serial = number.split("-")
        by_year[year].append(int(serial))
    for serials in by_year.values():
        assert sorted(serials) == list(range(1, len(serials) + 1))  # gap-free and unique
    return numbers


def test_two_billing_runs_at_once(app, session, tenants, database_url, themes_dir):
    demo = tenants("demo")
    for n in range(CONTRACTS):
        start_contract(session, tenant="demo", plan=demo.plan("pro"), email=f"c{n}@example.com", locale="en",
                       fields=SIGNUP_FIELDS, payment=PaymentChoice(kind="invoice"), signup_key=f"bulk{n:028d}",
                       today=date(2026, 1, 1 + n % 28))
    session.commit()
    outputs = run_twice_at_once(app, database_url, themes_dir, "--date", "2026-03-15")

    numbers = assert_gap_free(session, "demo")
    periods = session.execute(select(Invoice.contract_id, Invoice.period_start, func.count()).group_by(Invoice.contract_id, Invoice.period_start)).all()
    assert all(n == 1 for _c, _p, n in periods)
    # each contract started in January: periods starting in Jan, Feb and (day <= 15) March
    expected = sum(3 if 1 + n % 28 <= 15 else 2 for n in range(CONTRACTS))
    assert len(numbers) == expected
    billed = [int(out.split("billed ")[1].split(" ")[0]) for out, _err in outputs]
    assert sum(billed) == CONTRACTS


def test_two_default_runs_at_once_bill_each_tenant_up_to_its_own_today(app, session, tenants, database_url, themes_dir):
    """Without --date (as the worker runs it), for tenants on both sides of the date line. Real time: every
    contract starts 0 to 20 days before its tenant's today, so each has exactly one period due."""
    bills_in(themes_dir, "demo", "Pacific/Auckland")
    bills_in(themes_dir, "fjord", "America/Los_Angeles")
    contracts = 600
    for n in range(contracts):
        slug, plan = ("demo", "pro") if n % 2 else ("fjord", "mellan")
        tenant = tenants(slug)
        start_contract(session, tenant=slug, plan=tenant.plan(plan), email=f"c{n}@example.com", locale="en",
                       fields=SIGNUP_FIELDS, payment=PaymentChoice(kind="invoice"), signup_key=f"zone{n:028d}",
                       today=tenant.today() - timedelta(days=n % 21))
    session.commit()
    outputs = run_twice_at_once(app, database_url, themes_dir)

    assert len(assert_gap_free(session, "demo")) == len(assert_gap_free(session, "fjord")) == contracts // 2
    per_contract = session.execute(select(Invoice.contract_id, func.count()).group_by(Invoice.contract_id)).all()
    assert len(per_contract) == contracts and all(n == 1 for _c, n in per_contract)
    billed = [int(out.split("billed ")[1].split(" ")[0]) for out, _err in outputs]
    assert sum(billed) == contracts
