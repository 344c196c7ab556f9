#!/usr/bin/env python3
"""Soak: mixed traffic against 4 gunicorn workers over PostgreSQL and Redis, for minutes, on loopback.

Virtual customers (threads) each sign up (form GET and POST), get a portal session from the merchant
API, look at the portal overview, change their plan (preview, confirm) and are read back through the API;
`widget-server billing run` runs every 20 seconds beside them, so invoice numbers are drawn concurrently.
At the end: requests/s, p50/p99 per kind, and the pass criteria of the brief: no 5xx, every acknowledged
sign-up is exactly one customer, invoice numbers gap-free, the workers' memory flat (the last third of the
samples against the first third, within 10 %).

    createdb -h 127.0.0.1 -U postgres widget_soak
    .venv/bin/python bench/soak.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/widget_soak --duration 300
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import secrets
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import Counter, defaultdict
from datetime import datetime
from html import unescape
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))
import signup as harness  # noqa: E402

MAX_SECONDS = 600
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')
FORM = {"first_name": "Soak", "last_name": "Test", "street": "Weg 1", "postal_code": "12345", "city": "Berlin",
        "country": "DE", "payment_method": "invoice", "consent": "1"}


class Client:
    """One virtual customer's HTTP connection with its cookie (our cookies are Secure; loopback is plain http)."""

    def __init__(self, port: int, stats: "Stats"):
        self.port, self.stats, self.cookies = port, stats, {}
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def request(self, kind: str, method: str, path: str, *, form=None, body=None, headers=None):
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        data = None
        if form is not None:
            data = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            data = json.dumps(body)
            headers["Content-Type"] = "application/json"
        started = time.perf_counter()
        for attempt in range(2):
            try:
                self.connection.request(method, path, body=data, headers=headers)
                answer = self.connection.getresponse()
                payload = answer.read()
                break
            except (http.client.HTTPException, OSError):
                self.connection.close()
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                if attempt:
                    self.stats.add(kind, 0, time.perf_counter() - started)
                    return 0, {}, b""
        self.stats.add(kind, answer.status, time.perf_counter() - started)
        for header in answer.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        return answer.status, answer.headers, payload


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.times = defaultdict(list)
        self.statuses = defaultdict(Counter)
        self.acknowledged: list[str] = []  # sign-ups answered 303: their e-mail addresses

    def add(self, kind, status, seconds):
        with self.lock:
            self.times[kind].append(seconds)
            self.statuses[kind][status] += 1


def hidden(html: bytes) -> dict:
    return {unescape(k): unescape(v) for k, v in HIDDEN.findall(html.decode("utf-8", "replace"))}


def virtual_customer(port: int, key: str, stats: Stats, stop: threading.Event, tag: str, number: int):
    auth = {"Authorization": f"Bearer {key}"}
    counter = 0
    while not stop.is_set():
        counter += 1
        client = Client(port, stats)
        plan, other = ("basic", "pro") if counter % 2 else ("pro", "basic")
        status, _h, page = client.request("signup form", "GET", f"/t/demo/signup/{plan}")
        if status != 200:
            continue
        email = f"soak-{tag}-{number}-{counter}@example.com"
        form = {**FORM, **hidden(page), "email": email}
        status, headers, _ = client.request("signup post", "POST", f"/t/demo/signup/{plan}", form=form)
        if status != 303:
            continue
        with stats.lock:
            stats.acknowledged.append(email)
        contract_id = headers["Location"].rstrip("/").rsplit("/", 1)[-1].split("?")[0]
        api = Client(port, stats)
        status, _h, data = api.request("api read", "GET", f"/api/v1/contracts/{contract_id}", headers=auth)
        if status != 200:
            continue
        customer_id = json.loads(data)["customer_id"]
        status, _h, data = api.request("api write", "POST", "/api/v1/portal-sessions", body={"customer_id": customer_id},
                                       headers=auth)
        if status != 201:
            continue
        link = urllib.parse.urlsplit(json.loads(data)["url"])
        portal = Client(port, stats)
        portal.request("portal enter", "GET", f"{link.path}?{link.query}")
        for _ in range(3):
            portal.request("portal overview", "GET", "/t/demo/portal/")
        status, _h, page = portal.request("plan preview", "GET", f"/t/demo/portal/change-plan?contract={contract_id}&plan={other}")
        if status == 200:
            fields = hidden(page)
            if fields.get("action") == "confirm":
                portal.request("plan confirm", "POST", "/t/demo/portal/change-plan", form=fields)
        api.request("api read", "GET", f"/api/v1/customers/{customer_id}", headers=auth)
        api.request("api read", "GET", "/api/v1/customers?limit=5", headers=auth)


def tenant_today() -> str:
    """The demo tenant's date (Europe/Berlin): sign-ups start then, and `billing run` defaults to the server's."""
    return datetime.now(ZoneInfo("Europe/Berlin")).date().isoformat()


def worker_pids(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children")
    return [int(p) for p in children.read_text().split()] if children.exists() else []


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def run(args, procs, workdir: Path) -> int:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WIDGET_", "REDIS_")) and k != "DATABASE_URL"}
    env.update({"DATABASE_URL": args.database_url, "REDIS_URL": args.redis_url, "WIDGET_SECRET_KEY": secrets.token_hex(32),
                "WIDGET_ENV": "production", "WIDGET_PUBLIC_URL": "https://widget.soak.invalid",
                "WIDGET_INSTANCE_PATH": str(workdir), "WIDGET_RATELIMIT_PREFIX": "soak-" + secrets.token_hex(4),
                # all virtual customers share 127.0.0.1 and one API key: limits as for a big shop's back end
                "WIDGET_SIGNUP_RATE_LIMIT": "1000000 per minute", "WIDGET_API_RATE_LIMIT": "1000000 per minute",
                "PYTHONDONTWRITEBYTECODE": "1"})
    cli = [str(harness.BIN / "widget-server")]
    subprocess.run([*cli, "db", "upgrade"], cwd=harness.ROOT, env=env, check=True, capture_output=True, timeout=300)
    made = subprocess.run([*cli, "api-keys", "create", "demo"], cwd=harness.ROOT, env=env, check=True, capture_output=True,
                          text=True, timeout=60)
    key = made.stdout.strip().splitlines()[-1]
    server = harness.start_gunicorn(procs, "widget", "widget_server:create_app()", args=args, env=env, cwd=harness.ROOT,
                                    workdir=workdir)
    harness.wait_ready(server, "/healthz", args.workers)

    stats, stop, tag = Stats(), threading.Event(), secrets.token_hex(3)
    threads = [threading.Thread(target=virtual_customer, args=(server.port, key, stats, stop, tag, i), daemon=True)
               for i in range(args.clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    memory: list[float] = []
    next_billing = started + 20
    print(f"soak: {args.clients} virtual customers against {args.workers} workers for {args.duration:g} s ...", flush=True)
    while time.monotonic() - started < args.duration:
        time.sleep(2)
        memory.append(sum(rss_mb(pid) for pid in worker_pids(server.proc.pid)))
        if time.monotonic() >= next_billing:
            next_billing += 20
            subprocess.Popen([*cli, "billing", "run", "--date", tenant_today()], cwd=harness.ROOT, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    elapsed = time.monotonic() - started
    time.sleep(2)
    subprocess.run([*cli, "billing", "run", "--date", tenant_today()], cwd=harness.ROOT, env=env, capture_output=True,
                   timeout=300)
    return report(args, stats, memory, elapsed, tag)


def report(args, stats: Stats, memory: list[float], elapsed: float, tag: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(args.database_url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT email, count(*) FROM customer WHERE email LIKE :tag GROUP BY email"),
                            {"tag": f"soak-{tag}-%"}).all()
        numbers = [n for (n,) in conn.execute(text("SELECT number FROM invoice WHERE tenant = 'demo'"))]
    engine.dispose()
    stored = dict(rows)
    acknowledged = set(stats.acknowledged)
    exactly_once = all(stored.get(email) == 1 for email in acknowledged) and len(acknowledged) == len(stats.acknowledged)
    extra = set(stored) - acknowledged
    by_year = defaultdict(list)
    for number in numbers:
        prefix, year, serial = number.rsplit("-", 2)
        by_year[(prefix, year)].append(int(serial))
    gap_free = all(sorted(serials) == list(range(1, len(serials) + 1)) for serials in by_year.values())
    total = sum(sum(c.values()) for c in stats.statuses.values())
    errors = sum(n for c in stats.statuses.values() for status, n in c.items() if status >= 500 or status == 0)
    all_times = [t for times in stats.times.values() for t in times]
    third = max(1, len(memory) // 3)
    early, late = statistics.mean(memory[:third] or [0]), statistics.mean(memory[-third:] or [0])
    growth = (late - early) / early if early else 0.0

    print(f"\nwidget-server soak, {elapsed:.0f} s, {args.clients} virtual customers, gunicorn --workers {args.workers}, "
          f"PostgreSQL + Redis")
    print(f"{'kind':<18}{'requests':>10}{'p50 ms':>9}{'p99 ms':>9}  statuses")
    for kind in sorted(stats.times):
        times = stats.times[kind]
        print(f"{kind:<18}{len(times):>10}{percentile(times, .5) * 1000:>9.1f}{percentile(times, .99) * 1000:>9.1f}  "
              f"{dict(sorted(stats.statuses[kind].items()))}")
    print(f"{'all':<18}{total:>10}{percentile(all_times, .5) * 1000:>9.1f}{percentile(all_times, .99) * 1000:>9.1f}  "
          f"{total / elapsed:.1f} requests/s")
    print(f"\nworkers' memory: {early:.0f} MB (first third) -> {late:.0f} MB (last third), {growth:+.1%}")
    print("\nPass criteria")
    print(f"  no 5xx (or dropped connection): {errors}  {harness.verdict(errors == 0)}")
    print(f"  every acknowledged sign-up is exactly one customer: {len(acknowledged)} acknowledged, "
          f"{sum(stored.values())} stored, {len(extra)} stored without an answer  {harness.verdict(exactly_once)}")
    print(f"  invoice numbers gap-free: {len(numbers)} invoices in {len(by_year)} sequence(s)  {harness.verdict(gap_free)}")
    print(f"  workers' memory flat (within 10 %): {growth:+.1%}  {harness.verdict(abs(growth) <= 0.10)}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True, help="a throwaway PostgreSQL database (migrated by the run)")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/6", help="Redis for rate limits and jobs")
    parser.add_argument("--duration", type=float, default=120, help=f"seconds of traffic (default 120, at most {MAX_SECONDS})")
    parser.add_argument("--clients", type=int, default=16, help="virtual customers at once (default 16)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (default 4)")
    parser.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not 0 < args.duration <= MAX_SECONDS:
        parser.error(f"--duration must be between 0 and {MAX_SECONDS} seconds")
    return harness.run_main(run, args, "widget-soak-")


if __name__ == "__main__":
    harness.script_main(main, "soak")
