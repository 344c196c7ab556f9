"""Billing run over many due contracts: contracts billed per second and peak memory.

    .venv/bin/python bench/billing.py                      # SQLite and PostgreSQL, 10,000 and 100,000 contracts
    .venv/bin/python bench/billing.py --sizes 20000 --backends sqlite

Each size runs in a fresh process (so peak memory is its own) on a fresh
database. Targets: >= 1,000 contracts/s on this 2-core machine (invoices
without PDFs), and peak memory flat: the 100,000 run may not need much more
memory than the 10,000 run (it streams in batches).
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PG_BENCH = "postgresql+psycopg://postgres@127.0.0.1:5432/widget_bench"
START = date(2026, 1, 1)
BILL_UP_TO = date(2026, 1, 28)  # each contract is due exactly once


def seed(url: str, count: int) -> None:
    """Customers and contracts due for their first invoice, inserted in bulk."""
    from sqlalchemy import create_engine, insert

    from widget_server.storage.base import public_id, utcnow
    from widget_server.storage.models import Contract, Customer
    engine = create_engine(url)
    now = utcnow()
    with engine.begin() as conn:
        for first in range(0, count, 5000):
            rows = range(first, min(first + 5000, count))
            ids = conn.execute(insert(Customer).returning(Customer.id, sort_by_parameter_order=True), [
                {"public_id": public_id("cus"), "tenant": "demo", "email": f"b{n}@example.com", "locale": "de",
                 "fields": {"first_name": "B", "last_name": str(n), "country": "DE"}, "signup_key": f"bench{n}", "created_at": now}
                for n in rows]).scalars().all()
            day = lambda n: START.replace(day=1 + n % 28)  # noqa: E731
            conn.execute(insert(Contract), [
                {"public_id": public_id("con"), "tenant": "demo", "customer_id": cid, "plan_id": "pro", "status": "active",
                 "price_minor": 1990, "currency": "EUR", "interval": "month", "current_period_start": day(n),
                 "current_period_end": day(n), "next_billing_date": day(n), "anchor_day": day(n).day, "created_at": now}
                for cid, n in zip(ids, rows)])
    engine.dispose()


def bill(url: str) -> dict:
    """Run in a child process: bill everything, report rate and peak memory."""
    from widget_server import create_app
    from widget_server.billing.run import bill_due
    from widget_server.extensions import db
    app = create_app({"DATABASE_URL": url})
    with app.app_context():
        registry = app.extensions["widget_themes"]
        started = time.perf_counter()
        result = bill_due(db.session, registry.get, BILL_UP_TO)
        seconds = time.perf_counter() - started
    return {"contracts": result.contracts, "invoices": result.invoices, "seconds": seconds,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def fresh_database(backend: str, folder: str, size: int) -> str:
    from sqlalchemy import create_engine, text

    from widget_server.storage.migrate import upgrade
    if backend == "sqlite":
        url = f"sqlite:///{folder}/bench-{size}.db"
    else:
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("DROP DATABASE IF EXISTS widget_bench"))
            conn.execute(text("CREATE DATABASE widget_bench"))
        admin.dispose()
        url = PG_BENCH
    upgrade(url)
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(bill(args.child)))
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for backend in args.backends.split(","):
            for size in sizes:
                url = fresh_database(backend, folder, size)
                seed(url, size)
                env = {**os.environ, "WIDGET_INSTANCE_PATH": folder}
                out = subprocess.run([sys.executable, __file__, "--child", url], env=env, capture_output=True, text=True, check=True)
                figures = json.loads(out.stdout.strip().splitlines()[-1])
                assert figures["contracts"] == size, figures
                rows.append((backend, size, figures))
                print(f"{backend:10} {size:>8,} contracts  {figures['contracts'] / figures['seconds']:>8,.0f} contracts/s  "
                      f"{figures['invoices']:>8,} invoices in {figures['seconds']:6.1f} s  peak {figures['peak_rss_mb']:6.0f} MB", flush=True)
    print()
    for backend in args.backends.split(","):
        mine = [(size, f) for b, size, f in rows if b == backend]
        rates = [f["contracts"] / f["seconds"] for _s, f in mine]
        print(f"{backend}: slowest {min(rates):,.0f} contracts/s (target >= 1,000): {'PASS' if min(rates) >= 1000 else 'FAIL'}")
        if len(mine) > 1:
            growth = mine[-1][1]["peak_rss_mb"] / mine[0][1]["peak_rss_mb"]
            print(f"{backend}: peak memory {mine[-1][0]:,} vs {mine[0][0]:,} contracts: x{growth:.2f} "
                  f"(target: flat, <= 1.25): {'PASS' if growth <= 1.25 else 'FAIL'}")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
