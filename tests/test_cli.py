"""The widget-server command."""
from datetime import date

import time_machine
from sqlalchemy import func, select

from tests.billing.test_tenant_days import bills_in, utc
from tests.tenants.test_loader import edit
from widget_server.storage.models import Customer


def test_themes_check_passes_on_the_shipped_themes(app):
    result = app.test_cli_runner().invoke(args=["themes", "check"])
    assert result.exit_code == 0, result.output
    assert "2 theme(s) OK" in result.output


def test_themes_check_prints_one_line_per_problem(app, themes_dir):
    edit(themes_dir / "demo" / "theme.toml", 'primary = "#6d28d9"', 'primary = "purple"')
    edit(themes_dir / "demo" / "theme.toml", 'interval = "month"', 'interval = "weekly"')
    result = app.test_cli_runner().invoke(args=["themes", "check"])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.startswith("themes/")]
    assert lines == [
        "themes/demo/theme.toml: brand.colors.primary: Not a colour like #1a2b3c.",
        "themes/demo/theme.toml: plans[0].interval: Must be one of: month, year.",
    ]


def test_themes_check_of_one_tenant_and_of_a_missing_one(app):
    assert app.test_cli_runner().invoke(args=["themes", "check", "fjord"]).exit_code == 0
    missing = app.test_cli_runner().invoke(args=["themes", "check", "nobody"])
    assert missing.exit_code == 1 and "themes/nobody/theme.toml: File not found." in missing.output


def test_demo_is_idempotent(app, session):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0 and "created demo customer" in first.output
    second = runner.invoke(args=["demo"])
    assert second.exit_code == 0 and "already there" in second.output
    assert session.scalar(select(func.count()).select_from(Customer)) == 2


def test_demo_with_a_broken_theme_says_why(app, themes_dir):
    edit(themes_dir / "demo" / "theme.toml", 'primary = "#6d28d9"', 'primary = "purple"')
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code != 0 and "brand.colors.primary" in result.output


def test_billing_and_dunning_run_without_a_date_go_by_each_tenants_today(app, sign_up, themes_dir):
    bills_in(themes_dir, "demo", "Pacific/Auckland")
    bills_in(themes_dir, "fjord", "America/Los_Angeles")
    sign_up("pro", on=date(2026, 2, 7))
    sign_up("mellan", on=date(2026, 1, 1), tenant="fjord")  # invoiced 1 January, due the 31st, reminded 7 days later
    runner = app.test_cli_runner()
    with time_machine.travel(utc(2026, 2, 6, 12, 0), tick=False):  # server: 6 February; Auckland: 7 February 01:00
        billed = runner.invoke(args=["billing", "run"])
    assert billed.exit_code == 0, billed.output
    assert ("billed 2 contract(s) up to each tenant's today (demo 2026-02-07, fjord 2026-02-06): 3 invoice(s)"
            in billed.output)
    with time_machine.travel(utc(2026, 2, 7, 5, 0), tick=False):  # server: 7 February; Los Angeles: 6 February 21:00
        dunned = runner.invoke(args=["dunning", "run"])
    assert dunned.exit_code == 0, dunned.output
    assert ("dunning as of each tenant's today (fjord 2026-02-06): 0 reminder(s), 0 invoice(s) past the last stage"
            in dunned.output)
    help_text = runner.invoke(args=["billing", "run", "--help"]).output
    assert "each tenant's today" in help_text
