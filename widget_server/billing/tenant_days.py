"""The day a daily run (billing, dunning) works up to, per tenant.

Billing periods and due dates are dates in the tenant's time zone (Tenant.today()),
not the server's: a run without an explicit day takes each tenant's own today, so a
tenant in Pacific/Auckland is billed on its calendar day rather than a day late, and
one in America/Los_Angeles not a day early. An explicit day means that day for every
tenant.
"""
from datetime import date, datetime, timedelta, timezone

# No time zone is ahead of UTC+14 (the Line Islands): no tenant's today is later than this one's.
LATEST_ZONE = timezone(timedelta(hours=14))


def latest_today() -> date:
    """The latest date it is anywhere right now."""
    return datetime.now(LATEST_ZONE).date()


class TenantDays:
    """`day` for every tenant, or (day None) each tenant's today, read once per run: one run
    bills a tenant up to one day even if the tenant's midnight passes while it runs."""

    def __init__(self, day: date | None = None):
        self.day = day
        # The bound of the database query: nothing later is due for any tenant.
        self.bound = day or latest_today()
        self.used: dict[str, date] = {}  # tenant slug -> the day the run worked up to

    def of(self, tenant) -> date:
        if tenant.slug not in self.used:
            self.used[tenant.slug] = self.day or tenant.today()
        return self.used[tenant.slug]
