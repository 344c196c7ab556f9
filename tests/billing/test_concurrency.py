"""Two processes running `billing run` at the same moment: no duplicates, no gaps."""
import os
import subprocess
import sys
from collections import defaultdict
from datetime import date

from sqlalchemy import func, select

from widget_server.billing.contracts import PaymentChoice, start_contract
from widget_server.storage.models import Invoice

from tests.conftest import SIGNUP_FIELDS

CONTRACTS = 1200


def test_two_billing_runs_at_once(app, session, tenants, database_url, themes_dir):
    demo = tenants("demo")
    for n in range(CONTRACTS):
        start_contract(session, tenant="demo", plan=demo.plan("pro"), email=f"c{n}@example.com", locale="en",
                       fields=SIGNUP_FIELDS, payment=PaymentChoice(kind="invoice"), signup_key=f"bulk{n:028d}",
                       today=date(2026, 1, 1 + n % 28))
    session.commit()
    env = {**os.environ, "DATABASE_URL": database_url, "WIDGET_THEMES_DIR": str(themes_dir),
           "WIDGET_SECRET_KEY": app.config["SECRET_KEY"]}
    command = [sys.executable, "-m", "widget_server.cli", "billing", "run", "--date", "2026-03-15"]
    runs = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs

    numbers = session.scalars(select(Invoice.number).where(Invoice.tenant == "demo")).all()
    by_year = defaultdict(list)
    for number in numbers:
        _prefix, year, serial = number.split("-")
        by_year[year].append(int(serial))
    for serials in by_year.values():
        assert sorted(serials) == list(range(1, len(serials) + 1))  # gap-free and unique
    periods = session.execute(select(Invoice.contract_id, Invoice.period_start, func.count()).group_by(Invoice.contract_id, Invoice.period_start)).all()
    assert all(n == 1 for _c, _p, n in periods)
    # each contract started in January: periods starting in Jan, Feb and (day <= 15) March
    expected = sum(3 if 1 + n % 28 <= 15 else 2 for n in range(CONTRACTS))
    assert len(numbers) == expected
    billed = [int(out.split("billed ")[1].split(" ")[0]) for out, _err in outputs]
    assert sum(billed) == CONTRACTS
