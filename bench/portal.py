#!/usr/bin/env python3
"""Benchmark of the portal overview against a bare Flask hello-world, and how it scales with customers.

One run: a migrated database (temporary SQLite, or --database-url), a customer base grown to
--customers (a few customers signed up and billed for half a year by our own code, then copied
table by table with fresh ids until there are enough), gunicorn serving bench/hello.py and
widget_server:create_app() with the same settings on loopback ports, a portal session for one
customer from the merchant API, then wrk against hello-world GET and the portal overview GET.
With --scale-to (PostgreSQL), the customer base grows again and the overview is measured once
more: the p50 latency ratio between the two sizes shows whether a page read depends on table size.
Targets are reported as PASS/FAIL; the exit status is non-zero only when the benchmark could not run.
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import signup as harness  # noqa: E402  (processes, gunicorn, wrk and CPU accounting)

TENANT = "demo"
OVERVIEW = f"/t/{TENANT}/portal/"
TARGET_RPS_RATIO = 0.40
TARGET_P99_MS = 50.0
TARGET_SCALE_P50_RATIO = 1.5
# Tables that hold one customer's data; everything else (keys, sequences, outbox) is not copied.
CUSTOMER_TABLES = ("customer", "contract", "payment_method", "invoice", "invoice_line", "payment", "ledger_entry",
                   "audit_event")


# --------------------------------------------------------------------------- data

def _app(database_url: str, instance: Path):
    sys.path.insert(0, str(harness.ROOT))
    from widget_server import create_app

    return create_app({"DATABASE_URL": database_url, "SECRET_KEY": secrets.token_hex(32),
                       "WIDGET_INSTANCE_PATH": str(instance), "WIDGET_PUBLIC_URL": "http://127.0.0.1"})


def seed(app, first: int) -> str:
    """`first` customers of the demo tenant with six months of invoices, some paid; returns one customer's id."""
    from widget_server.billing.contracts import PaymentChoice, start_contract
    from widget_server.billing.ledger import record_payment
    from widget_server.billing.run import bill_due
    from widget_server.extensions import db

    themes = app.extensions["widget_themes"]
    tenant = themes.get(TENANT)
    today = tenant.today()
    start = today - timedelta(days=183)
    with app.app_context():
        contracts = []
        for i in range(first):
            plan = tenant.plans[i % len(tenant.plans)]
            payment = (PaymentChoice(kind="sepa", account_holder=f"Bench Customer {i}", iban="DE89370400440532013000")
                       if i % 2 else PaymentChoice(kind="invoice"))
            fields = {"first_name": "Bench", "last_name": f"Customer {i}", "email": f"bench-{i}@example.com",
                      "street": "Musterstraße 1", "postal_code": "10115", "city": "Berlin", "country": "DE"}
            contracts.append(start_contract(db.session, tenant=TENANT, plan=plan, email=fields["email"], locale="en",
                                            fields=fields, payment=payment, signup_key=f"bench-seed-{i:08d}",
                                            today=start))
        db.session.commit()
        bill_due(db.session, themes.get, today)
        db.session.commit()
        for contract in contracts[::3]:
            invoice = contract.customer and _first_invoice(db.session, contract)
            if invoice is not None:
                record_payment(db.session, customer=contract.customer, amount_minor=invoice.gross_minor,
                               currency=invoice.currency, received_on=today, method="invoice", invoice=invoice)
        db.session.commit()
        return contracts[0].customer.public_id


def _first_invoice(session, contract):
    from sqlalchemy import select

    from widget_server.storage.models import Invoice

    return session.scalar(select(Invoice).where(Invoice.contract_id == contract.id).order_by(Invoice.id).limit(1))


def grow(app, target: int) -> int:
    """Double the customers (with all their rows, fresh ids and unique values) until there are `target`."""
    from sqlalchemy import func, insert, select, text

    from widget_server.storage.base import Base

    engine = app.extensions["database"]
    tables = [Base.metadata.tables[name] for name in CUSTOMER_TABLES]
    with engine.begin() as conn:
        count = conn.scalar(select(func.count()).select_from(Base.metadata.tables["customer"]))
    while count < target:
        with engine.begin() as conn:
            offsets = {t.name: conn.scalar(select(func.coalesce(func.max(t.c.id), 0))) for t in tables}
            room = target - count
            customer_cap = conn.scalar(select(func.min(Base.metadata.tables["customer"].c.id))) + room - 1
            for table in tables:
                columns, values = [], []
                for column in table.columns:
                    columns.append(column.name)
                    values.append(_copied(column, offsets))
                query = select(*values)
                owner = table.c.get("customer_id") if table.name != "customer" else table.c.id
                if owner is not None:
                    query = query.where(owner <= customer_cap)
                elif table.name == "invoice_line":
                    invoices = Base.metadata.tables["invoice"]
                    query = query.where(table.c.invoice_id.in_(
                        select(invoices.c.id).where(invoices.c.customer_id <= customer_cap)))
                conn.execute(insert(table).from_select(columns, query))
            if engine.dialect.name == "postgresql":
                for table in tables:
                    conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                      f"(SELECT max(id) FROM {table.name}))"))
            count = conn.scalar(select(func.count()).select_from(Base.metadata.tables["customer"]))
        print(f"  {count:,} customers", flush=True)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))  # both databases: plan the page's reads for the new size
    return count


UNIQUE_TEXT = {"public_id", "mandate_reference", "number", "signup_key", "email", "key_hash", "external_id", "reference"}


def _copied(column, offsets):
    """The value a copied row gets: ids and references shifted, unique texts made unique again."""
    from sqlalchemy import String, cast, literal

    table = column.table.name
    if column.primary_key:
        return column + offsets[table]
    for fk in column.foreign_keys:
        target = fk.column.table.name
        if target in offsets:
            return column + offsets[target]
    if column.name in UNIQUE_TEXT and isinstance(column.type, String):
        # a short prefix plus the new row id: unique per table and within the columns' length limits
        prefix = column.name[:3] if column.name != "public_id" else "cp_"
        return literal(prefix) + cast(column.table.c.id + offsets[table], String)
    return column


def api_key(app) -> str:
    from widget_server.extensions import db
    from widget_server.storage.models import ApiKey

    with app.app_context():
        key, raw = ApiKey.generate(TENANT)
        db.session.add(key)
        db.session.commit()
        return raw


def portal_cookie(server, key: str, customer_id: str) -> str:
    """A portal session the way merchants open one: the API's one-time URL, then the entry redirect."""
    request = urllib.request.Request(
        f"{server.origin}/api/v1/portal-sessions", data=json.dumps({"customer_id": customer_id}).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=10) as answer:
        url = json.load(answer)["url"]
    path = url[url.index("/t/"):]
    status, headers, _body = harness.http_get(server.port, path)
    cookie = headers.get("Set-Cookie", "")
    if status not in (302, 303) or not cookie:
        raise harness.BenchError(f"portal entry answered {status} without a session cookie")
    cookie = cookie.split(";", 1)[0]
    # What a browser holds after its first page: the session now carries the CSRF secret too,
    # so later views do not write the cookie again.
    status, headers, _body = harness.http_get(server.port, OVERVIEW, {"Cookie": cookie})
    if status != 200:
        raise harness.BenchError(f"the portal overview answered {status}")
    return (headers.get("Set-Cookie") or cookie).split(";", 1)[0]


def cookie_script(path: Path, cookie: str) -> Path:
    text = "IDS_PATH = \"\"\n" + harness.LUA_COMMON + f'\nwrk.headers["Cookie"] = {harness.lua_string(cookie)}\n'
    path.write_text(text)
    return path


# --------------------------------------------------------------------------- run

def measure(procs, args, label, server, path, script):
    print(f"wrk: {label} GET {path} ({args.warmup:g} s warm-up, {args.duration:g} s measured) ...", flush=True)
    if args.warmup:
        harness.run_wrk(procs, f"{label} warm-up", server, path, script, args=args, duration=args.warmup)
    return harness.run_wrk(procs, label, server, path, script, args=args, duration=args.duration)


def row(label, r, hello):
    ratio = r.rps / hello.rps if hello.rps else 0
    print(f"{label:<34}{r.rps:>9.1f}{harness.fmt_ms(r.ms('p50')):>9}{harness.fmt_ms(r.ms('p99')):>9}"
          f"{ratio * 100:>15.1f}%{r.cpu_ms_per_request:>12.2f}{r.non_2xx_3xx:>13}")


def run(args, procs, workdir: Path) -> int:
    instance = workdir / "instance"
    instance.mkdir()
    database_url = args.database_url or f"sqlite:///{instance / 'widget.db'}"
    if args.scale_to and not args.database_url:
        raise harness.BenchError("--scale-to needs --database-url (PostgreSQL)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("WIDGET_") and k != "DATABASE_URL"}
    secret = secrets.token_hex(32)
    env.update({"DATABASE_URL": database_url, "WIDGET_INSTANCE_PATH": str(instance), "WIDGET_SECRET_KEY": secret,
                "WIDGET_ENV": "production", "WIDGET_PUBLIC_URL": "https://widget.bench.invalid",
                "PYTHONDONTWRITEBYTECODE": "1"})
    background = harness.idle_check()
    print(f"machine load before the run: {background:.0f} % of {os.cpu_count()} CPUs busy", flush=True)
    migrate = subprocess.run([str(harness.BIN / "widget-server"), "db", "upgrade"], cwd=harness.ROOT, env=env,
                             capture_output=True, text=True, timeout=300)
    if migrate.returncode != 0:
        raise harness.BenchError("widget-server db upgrade failed:\n" + (migrate.stdout + migrate.stderr)[-2000:])
    app = _app(database_url, instance)
    print(f"seeding {args.seed} customers with six months of invoices ...", flush=True)
    customer = seed(app, args.seed)
    print(f"growing to {args.customers:,} customers ...", flush=True)
    grow(app, args.customers)
    key = api_key(app)

    hello = harness.start_gunicorn(procs, "hello", "hello:app", args=args, env=env, cwd=harness.ROOT, workdir=workdir,
                                   extra=["--pythonpath", str(harness.BENCH)])
    widget = harness.start_gunicorn(procs, "widget", "widget_server:create_app()", args=args, env=env,
                                    cwd=harness.ROOT, workdir=workdir)
    harness.wait_ready(hello, "/", args.workers)
    harness.wait_ready(widget, "/healthz", args.workers)
    cookie = portal_cookie(widget, key, customer)
    plain = harness.write_lua(workdir / "get.lua")
    with_cookie = cookie_script(workdir / "portal.lua", cookie)
    results = {"hello": measure(procs, args, "hello", hello, "/", plain),
               "portal": measure(procs, args, "portal", widget, OVERVIEW, with_cookie)}
    scaled = None
    if args.scale_to:
        print(f"growing to {args.scale_to:,} customers ...", flush=True)
        grown = time.monotonic()
        grow(app, args.scale_to)
        print(f"  took {time.monotonic() - grown:.0f} s", flush=True)
        scaled = measure(procs, args, "portal (scaled)", widget, OVERVIEW, with_cookie)

    hello_r, portal_r = results["hello"], results["portal"]
    print()
    print(f"widget-server portal benchmark ({'PostgreSQL' if args.database_url else 'SQLite'}; gunicorn --workers "
          f"{args.workers} --threads {args.threads}; wrk -t{args.wrk_threads} -c{args.connections} -d{args.duration:g}s)")
    header = f"{'scenario':<34}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'req/s vs hello':>16}{'CPU ms/req':>12}{'non-2xx/3xx':>13}"
    print(header)
    print("-" * len(header))
    row("hello-world GET /", hello_r, hello_r)
    row(f"portal overview, {args.customers:,} customers", portal_r, hello_r)
    if scaled:
        row(f"portal overview, {args.scale_to:,} customers", scaled, hello_r)
    ratio = portal_r.rps / hello_r.rps if hello_r.rps else 0
    print()
    print("Targets")
    print(f"  portal overview req/s >= {TARGET_RPS_RATIO:.0%} of hello-world: {ratio:.1%}  "
          f"{harness.verdict(ratio >= TARGET_RPS_RATIO)}")
    if portal_r.cpu_ms_per_request:
        print(f"    (by server CPU time per request: {hello_r.cpu_ms_per_request:.2f} / "
              f"{portal_r.cpu_ms_per_request:.2f} ms = {hello_r.cpu_ms_per_request / portal_r.cpu_ms_per_request:.1%})")
    print(f"  portal overview p99 < {TARGET_P99_MS:g} ms: {harness.fmt_ms(portal_r.ms('p99'))} ms  "
          f"{harness.verdict(portal_r.ms('p99') < TARGET_P99_MS)}")
    if scaled:
        scale = scaled.ms("p50") / portal_r.ms("p50") if portal_r.ms("p50") else 0
        print(f"  p50 at {args.scale_to:,} / at {args.customers:,} customers <= {TARGET_SCALE_P50_RATIO:g}: "
              f"{scale:.2f}  {harness.verdict(scale <= TARGET_SCALE_P50_RATIO)}")
    errors = sum(r.non_2xx_3xx + r.socket_errors for r in (portal_r, scaled) if r)
    print(f"  no error answers: {errors}  {harness.verdict(errors == 0)}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1000, help="customers before the first measurement (default 1000)")
    parser.add_argument("--scale-to", type=int, default=0, help="grow to this many customers and measure again "
                        "(PostgreSQL; the brief: 1000000)")
    parser.add_argument("--seed", type=int, default=24, help="customers made by our own code, then copied (default 24)")
    parser.add_argument("--duration", type=float, default=10, help="seconds per measured wrk run (default 10)")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of unmeasured load before each run (default 2)")
    parser.add_argument("--connections", type=int, default=32, help="wrk -c (default 32)")
    parser.add_argument("--wrk-threads", type=int, default=2, help="wrk -t (default 2)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn --workers, both apps (default 2)")
    parser.add_argument("--threads", type=int, default=1, help="gunicorn --threads, both apps (default 1)")
    parser.add_argument("--database-url", help="a PostgreSQL database to fill (its tables are migrated; use a throwaway one)")
    parser.add_argument("--wrk", default=shutil.which("wrk") or "/usr/bin/wrk", help="the wrk binary")
    args = parser.parse_args(argv)
    if args.seed < 1 or args.customers < args.seed:
        parser.error("need --seed >= 1 and --customers >= --seed")
    return harness.run_main(run, args, "widget-bench-portal-")


if __name__ == "__main__":
    harness.script_main(main, "benchmark")
