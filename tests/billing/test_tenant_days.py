"""The day a daily run works up to: each tenant's own today, or one day for all."""
import re
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo, available_timezones

import pytest
import time_machine

from tests.tenants.test_loader import edit
from widget_server.billing.tenant_days import TenantDays, latest_today


def bills_in(themes_dir, slug: str, zone: str) -> None:
    """Give a test tenant (in the test's copy of the theme files) another billing time zone."""
    path = themes_dir / slug / "theme.toml"
    current = re.search(r'^timezone = "[^"]*"$', path.read_text(encoding="utf-8"), re.MULTILINE).group(0)
    edit(path, current, f'timezone = "{zone}"')


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


@pytest.mark.parametrize("moment", [utc(2026, 3, 1, 9, 59), utc(2026, 3, 1, 10, 0), utc(2026, 6, 30, 23, 59),
                                    utc(2026, 12, 31, 12, 0)])
def test_no_time_zone_is_ahead_of_the_latest_today(moment):
    with time_machine.travel(moment, tick=False):
        latest = latest_today()
        days = {name: datetime.now(ZoneInfo(name)).date() for name in available_timezones()}
    assert max(days.values()) == latest == days["Pacific/Kiritimati"]


def test_without_a_day_each_tenant_has_its_own_today_for_the_whole_run(tenants, themes_dir):
    bills_in(themes_dir, "demo", "Pacific/Auckland")
    bills_in(themes_dir, "fjord", "America/Los_Angeles")
    with time_machine.travel(utc(2026, 3, 1, 10, 59, 59), tick=False):  # Auckland: 1 March 23:59:59 (UTC+13)
        days = TenantDays()
        assert days.of(tenants("demo")) == date(2026, 3, 1)
        assert days.bound == date(2026, 3, 2)  # already 2 March 00:59:59 on Kiritimati (UTC+14)
    with time_machine.travel(utc(2026, 3, 1, 11, 0), tick=False):  # Auckland's midnight has passed
        assert tenants("demo").today() == date(2026, 3, 2)
        assert days.of(tenants("demo")) == date(2026, 3, 1)  # read once: the run stays on its day
        assert days.of(tenants("fjord")) == date(2026, 3, 1)  # Los Angeles: 1 March 03:00
        assert TenantDays().of(tenants("demo")) == date(2026, 3, 2)  # the next run moves on
    assert days.used == {"demo": date(2026, 3, 1), "fjord": date(2026, 3, 1)}


def test_a_given_day_holds_for_every_tenant(tenants, themes_dir):
    bills_in(themes_dir, "demo", "Pacific/Auckland")
    with time_machine.travel(utc(2026, 3, 1, 12, 0), tick=False):  # Auckland: 2 March
        days = TenantDays(date(2026, 2, 1))
        assert days.bound == days.of(tenants("demo")) == days.of(tenants("fjord")) == date(2026, 2, 1)
