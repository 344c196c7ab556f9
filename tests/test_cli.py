"""The widget-server command."""
from sqlalchemy import func, select

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
