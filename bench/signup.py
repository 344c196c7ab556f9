#!/usr/bin/env python3
"""Benchmark of the hosted sign-up page against a bare Flask hello-world (see bench/README.md).

One run: a temporary instance folder and migrated SQLite database (or --database-url),
gunicorn serving bench/hello.py and widget_server:create_app() with the same settings on
loopback ports, wrk against hello-world GET, the sign-up page GET and a full sign-up POST,
then the page weight, a third-party-host check and a database count of the sign-ups.
Targets are reported as PASS/FAIL; the exit status is non-zero only when the benchmark
itself could not run.
"""
from __future__ import annotations

import argparse
import ctypes
import gzip
import http.client
import json
import os
import platform
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
BIN = Path(sys.executable).parent  # the venv's bin/ when run as .venv/bin/python
TENANT = "demo"
PLAN = "basic"
SIGNUP_PATH = f"/t/{TENANT}/signup/{PLAN}"
SESSION_COOKIE = "__Host-widget_session"

# Targets (the brief): sign-up page >= 50 % of hello-world requests/s, p99 < 50 ms at 32
# connections, page weight (HTML + CSS + JS, uncompressed, logo excluded) <= 40 KB.
TARGET_RPS_RATIO = 0.50
TARGET_P99_MS = 50.0
TARGET_WEIGHT_BYTES = 40_000  # 40 KB in decimal units, the stricter reading of "40 KB"


class BenchError(RuntimeError):
    """The benchmark could not run (not: a target was missed)."""


class BenchTimeout(BenchError):
    pass


# --------------------------------------------------------------------------- processes

def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when this script dies, even by SIGKILL (Linux)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class Processes:
    """Every child runs in its own process group, which cleanup() ends (TERM, then KILL)."""

    def __init__(self):
        self.running: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, cmd: list[str], **kwargs) -> subprocess.Popen:
        preexec = _die_with_parent if sys.platform.startswith("linux") else None
        proc = subprocess.Popen(cmd, start_new_session=True, preexec_fn=preexec, **kwargs)
        self.running.append((name, proc))
        return proc

    def stop(self, proc: subprocess.Popen, grace: float = 8.0) -> None:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
        # The group may outlive its leader (gunicorn workers): make sure it is gone.
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass

    def cleanup(self) -> None:
        for _name, proc in reversed(self.running):
            self.stop(proc)
        self.running.clear()


def _raise_exit(signum, _frame):
    print(f"\nstopped by signal {signal.Signals(signum).name}; stopping all processes", file=sys.stderr)
    raise SystemExit(128 + signum)


def _raise_timeout(_signum, _frame):
    raise BenchTimeout("the benchmark ran over its time budget")


# --------------------------------------------------------------------------- gunicorn

@dataclass
class Server:
    name: str
    proc: subprocess.Popen
    log: Path
    port: int

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def start_gunicorn(procs: Processes, name: str, app: str, *, args, env: dict, cwd: Path, workdir: Path,
                   extra: list[str] = ()) -> Server:
    log = workdir / f"gunicorn-{name}.log"
    cmd = [
        str(BIN / "gunicorn"), "--no-control-socket",
        "--bind", "127.0.0.1:0",  # loopback only; the kernel picks a free port, read back from the log
        "--workers", str(args.workers), "--threads", str(args.threads),
        "--backlog", "2048", "--timeout", "30", "--graceful-timeout", "3",
        "--log-level", "info", *extra, app,
    ]
    with open(log, "wb") as out:
        proc = procs.start(name, cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    port = None
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        found = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", text)
        if found:
            port = int(found.group(1))
            break
        if proc.poll() is not None:
            raise BenchError(f"gunicorn ({name}) exited with {proc.returncode}:\n{_tail(log)}")
        time.sleep(0.1)
    if port is None:
        raise BenchError(f"gunicorn ({name}) did not report its port within 30 s:\n{_tail(log)}")
    return Server(name, proc, log, port)


def wait_ready(server: Server, path: str, workers: int) -> None:
    """Until `path` answers 200 (a few times, so that every worker has booted)."""
    deadline = time.monotonic() + 30
    ok = 0
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise BenchError(f"gunicorn ({server.name}) exited with {server.proc.returncode}:\n{_tail(server.log)}")
        try:
            status, _headers, _body = http_get(server.port, path)
            if status == 200:
                ok += 1
                if ok >= 4 * workers:
                    return
                continue
            raise BenchError(f"GET {path} on {server.name} answered {status}:\n{_tail(server.log)}")
        except (ConnectionError, OSError):
            time.sleep(0.1)
    raise BenchError(f"{server.name} did not answer GET {path} within 30 s:\n{_tail(server.log)}")


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def http_get(port: int, path: str, headers: dict | None = None) -> tuple[int, http.client.HTTPMessage, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers={"Accept-Encoding": "identity", **(headers or {})})
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


# --------------------------------------------------------------------------- CPU accounting

CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def machine_cpu() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot, from /proc/stat."""
    try:
        with open("/proc/stat") as f:
            values = [int(v) for v in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return 0, 0
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def group_cpu(pgids: set[int]) -> int:
    """CPU jiffies (user + system) used so far by the live processes of these process groups."""
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                fields = f.read().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[2]) in pgids:  # pgrp
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total


@dataclass
class CpuShare:
    """Where the machine's CPU went during one wrk run, in % of all CPUs."""
    busy: float
    server: float
    wrk: float
    server_seconds: float = 0.0  # CPU seconds the server's processes used

    @property
    def other(self) -> float:
        return max(0.0, self.busy - self.server - self.wrk)


class CpuMeter:
    def __init__(self, server_pgid: int):
        self.pgids = {server_pgid}

    def __enter__(self):
        self.machine = machine_cpu()
        self.server = group_cpu(self.pgids)
        times = os.times()
        self.children = times.children_user + times.children_system
        return self

    def __exit__(self, *exc):
        busy, total = machine_cpu()
        server = group_cpu(self.pgids)
        times = os.times()
        children = times.children_user + times.children_system  # wrk, reaped during the run
        span = (total - self.machine[1]) or 1
        self.share = CpuShare(
            busy=100.0 * (busy - self.machine[0]) / span,
            server=100.0 * (server - self.server) / span,
            wrk=100.0 * (children - self.children) * CLOCK_TICKS / span,
            server_seconds=(server - self.server) / CLOCK_TICKS,
        )
        return False


def idle_check(seconds: float = 1.0) -> float:
    """% of all CPUs busy over a short sample, before anything of ours runs."""
    before = machine_cpu()
    time.sleep(seconds)
    after = machine_cpu()
    span = (after[1] - before[1]) or 1
    return 100.0 * (after[0] - before[0]) / span


# --------------------------------------------------------------------------- wrk

LUA_COMMON = r"""
-- generated by bench/signup.py
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

statuses = {}
sent = 0
received = 0
ids = {}

in_window = 0
ok_in_window = 0
function measuring() return true end  -- the POST script answers false once its window is over

function response(status, headers, body)
  received = received + 1
  statuses[status] = (statuses[status] or 0) + 1
  if measuring() then
    in_window = in_window + 1
    if status == 303 then ok_in_window = ok_in_window + 1 end
  end
  if status == 303 then
    local location = headers["Location"] or headers["location"]
    if location then ids[#ids + 1] = location:match("([^/?]+)$") end
  end
end

function done(summary, latency, requests)
  local merged, total_sent, total_received, total_in_window, total_ok_in_window = {}, 0, 0, 0, 0
  local ids_file = IDS_PATH ~= "" and io.open(IDS_PATH, "w") or nil
  for _, t in ipairs(threads) do
    for code, n in pairs(t:get("statuses") or {}) do merged[code] = (merged[code] or 0) + n end
    total_sent = total_sent + (t:get("sent") or 0)
    total_received = total_received + (t:get("received") or 0)
    total_in_window = total_in_window + (t:get("in_window") or 0)
    total_ok_in_window = total_ok_in_window + (t:get("ok_in_window") or 0)
    if ids_file then
      for _, id in ipairs(t:get("ids") or {}) do ids_file:write(id, "\n") end
    end
  end
  if ids_file then ids_file:close() end
  local parts = {}
  for code, n in pairs(merged) do parts[#parts + 1] = string.format('"%d": %d', code, n) end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"latency_us": {"mean": %.1f, "p50": %d, "p90": %d, "p99": %d, "max": %d}, ' ..
    '"statuses": {%s}, "sent": %d, "received": %d, "in_window": %d, "ok_in_window": %d}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    table.concat(parts, ", "), total_sent, total_received, total_in_window, total_ok_in_window))
end
"""

# A unique submission (32 hex: run tag, thread, counter) and e-mail per request. After WINDOW
# seconds no new request is started (delay()), so that every sign-up sent gets its answer
# before wrk stops: the database count can then equal the count of 303 responses.
LUA_POST = r"""
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock_id, bench_timespec *tp);
]]
local ts = ffi.new("bench_timespec")
local function now()
  ffi.C.clock_gettime(1, ts)  -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

local counter = 0
local prefix
local window_end
local validated = false

function init(args)
  prefix = string.format("%s%04x", RUN_TAG, tid)
  window_end = now() + WINDOW
end

function measuring() return now() < window_end end

function delay()
  if now() >= window_end then return 24 * 3600 * 1000 end  -- idle until wrk stops
  return 0
end

function request()
  counter = counter + 1
  -- wrk calls request() once on the first thread to validate the script: that one is never sent.
  if tid ~= 1 or validated then sent = sent + 1 else validated = true end
  local submission = string.format("%s%020x", prefix, counter)
  local email = string.format("bench-%s-%d-%d%%40example.com", RUN_TAG, tid, counter)
  local body = BODY .. "&submission=" .. submission .. "&email=" .. email
  return wrk.format("POST", PATH, HEADERS, body)
end
"""


def lua_string(value: str) -> str:
    return '"' + "".join(c if c.isalnum() or c in " -_.:/=+%&@;,*()" else f"\\{ord(c):03d}" for c in value) + '"'


def write_lua(path: Path, *, ids_path: str = "", post: dict | None = None) -> Path:
    text = f"IDS_PATH = {lua_string(ids_path)}\n" + LUA_COMMON
    if post:
        headers = ", ".join(f"[{lua_string(k)}] = {lua_string(v)}" for k, v in post["headers"].items())
        text += (f"RUN_TAG = {lua_string(post['tag'])}\nPATH = {lua_string(post['path'])}\nWINDOW = {post['window']:g}\n"
                 f"BODY = {lua_string(post['body'])}\nHEADERS = {{{headers}}}\n") + LUA_POST
    path.write_text(text)
    return path


@dataclass
class WrkResult:
    label: str
    data: dict
    success_codes: tuple
    stderr: str = ""
    cpu: CpuShare | None = None
    window: float | None = None  # the POST run: seconds during which requests were started

    @property
    def duration_s(self) -> float:
        return self.data["duration_us"] / 1e6

    @property
    def statuses(self) -> dict[int, int]:
        return {int(k): v for k, v in self.data["statuses"].items()}

    @property
    def successes(self) -> int:
        return sum(n for code, n in self.statuses.items() if code in self.success_codes)

    @property
    def rps(self) -> float:
        """Successful responses per second of the measured window."""
        if self.window:
            return self.data["ok_in_window"] / self.window
        return self.successes / self.duration_s if self.duration_s else 0.0

    @property
    def total_rps(self) -> float:
        return self.data["requests"] / self.duration_s if self.duration_s else 0.0

    @property
    def non_2xx_3xx(self) -> int:
        return sum(n for code, n in self.statuses.items() if not 200 <= code < 400)

    @property
    def socket_errors(self) -> int:
        e = self.data["errors"]
        return e["connect"] + e["read"] + e["write"] + e["timeout"]

    def ms(self, key: str) -> float:
        return self.data["latency_us"][key] / 1000.0

    @property
    def cpu_ms_per_request(self) -> float:
        """Server CPU time per answered request: unlike req/s, hardly affected by other load on the machine."""
        if not self.cpu or not self.data["requests"]:
            return 0.0
        return 1000.0 * self.cpu.server_seconds / self.data["requests"]


def run_wrk(procs: Processes, label: str, server: Server, path: str, script: Path, *, args, duration: float,
            success_codes=tuple(range(200, 300)), drain: float = 0) -> WrkResult:
    """`duration` seconds of load; with `drain`, the script stops starting requests after `duration` and
    wrk runs `drain` seconds longer, so that the requests in flight get their answers."""
    duration += drain
    cmd = [args.wrk, "-t", str(args.wrk_threads), "-c", str(args.connections), "-d", f"{duration:g}s",
           "--timeout", "5s", "-s", str(script), server.origin + path]
    with CpuMeter(server.proc.pid) as meter:
        proc = procs.start(f"wrk {label}", cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            out, err = proc.communicate(timeout=duration + 30)
        except subprocess.TimeoutExpired:
            raise BenchError(f"wrk ({label}) did not finish within {duration + 30:g} s")
        finally:
            procs.stop(proc, grace=2)
            procs.running = [(n, p) for n, p in procs.running if p is not proc]
    line = next((ln for ln in out.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if proc.returncode != 0 or line is None:
        raise BenchError(f"wrk ({label}) failed (exit {proc.returncode}):\n{out}\n{err}")
    return WrkResult(label, json.loads(line[len("BENCH_JSON "):]), tuple(success_codes), err.strip(), meter.share,
                     window=(duration - drain) if drain else None)


# --------------------------------------------------------------------------- page weight

RESOURCE_RELS = {"stylesheet", "icon", "shortcut", "apple-touch-icon", "preload", "modulepreload", "prefetch",
                 "preconnect", "dns-prefetch", "manifest", "mask-icon"}
CSS_URL = re.compile(r"""url\(\s*(?:"([^"]*)"|'([^']*)'|([^)'"\s]*))\s*\)""", re.I)
CSS_IMPORT = re.compile(r"""@import\s+(?:url\()?\s*["']?([^"')\s;]+)""", re.I)
ABSOLUTE_URL = re.compile(r"""(?:https?:)?//[A-Za-z0-9.-]+(?::\d+)?[^\s"'`)<>]*""")


class PageParser(HTMLParser):
    """Every URL of the page, with what the browser does with it."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.urls: list[tuple[str, str, str]] = []  # (kind, where, url)
        self.inline_css: list[str] = []
        self._in_style = False

    def _add(self, kind, where, url):
        if url is not None and url.strip():
            self.urls.append((kind, where, url.strip()))

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "link":
            rels = set((a.get("rel") or "").lower().split())
            kind = "stylesheet" if "stylesheet" in rels else ("resource" if rels & RESOURCE_RELS else "link")
            self._add(kind, f"<link rel={a.get('rel')}>", a.get("href"))
        elif tag == "script":
            self._add("script", "<script src>", a.get("src"))
        elif tag in ("img", "source", "input", "video", "audio", "track", "embed", "iframe", "frame"):
            kind = "image" if tag in ("img", "source", "input") else "resource"
            self._add(kind, f"<{tag} src>", a.get("src"))
            for candidate in (a.get("srcset") or "").split(","):
                self._add(kind, f"<{tag} srcset>", candidate.strip().split(" ")[0] if candidate.strip() else None)
            self._add("image", f"<{tag} poster>", a.get("poster"))
        elif tag == "object":
            self._add("resource", "<object data>", a.get("data"))
        elif tag == "form":
            self._add("form", "<form action>", a.get("action"))
        elif tag == "button":
            self._add("form", "<button formaction>", a.get("formaction"))
        elif tag in ("a", "area"):
            self._add("link", f"<{tag} href>", a.get("href"))
        elif tag == "base":
            self._add("resource", "<base href>", a.get("href"))
        elif tag == "style":
            self._in_style = True
        if a.get("style"):
            self.inline_css.append(a["style"])

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.inline_css.append(data)


def css_urls(text: str) -> list[tuple[str, str]]:
    found = [("css-import", m.group(1)) for m in CSS_IMPORT.finditer(text)]
    for m in CSS_URL.finditer(text):
        url = next(g for g in m.groups() if g is not None)
        if url and not any(url == u for _k, u in found):
            found.append(("css-url", url))
    return found


@dataclass
class PageReport:
    html_bytes: int = 0
    files: list = field(default_factory=list)  # (kind, path, bytes, gzip bytes, counted)
    third_party: list = field(default_factory=list)  # (kind, where, url)
    third_party_links: list = field(default_factory=list)
    js_absolute_urls: list = field(default_factory=list)
    problems: list = field(default_factory=list)

    @property
    def weight(self) -> int:
        return sum(f[2] for f in self.files if f[4])

    @property
    def weight_gzip(self) -> int:
        return sum(f[3] for f in self.files if f[4])


def measure_page(server: Server, path: str, own_origins: set[str]) -> PageReport:
    report = PageReport()
    page_url = server.origin + path
    status, _headers, html = http_get(server.port, path)
    if status != 200:
        raise BenchError(f"GET {path} answered {status}")
    report.html_bytes = len(html)
    report.files.append(("html", path, len(html), len(gzip.compress(html, 9)), True))
    parser = PageParser()
    parser.feed(html.decode("utf-8", errors="replace"))

    def own(url: str) -> bool:
        parts = urllib.parse.urlsplit(url)
        return parts.scheme not in ("http", "https") or f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}" in own_origins

    def classify(kind, where, base, url):
        absolute = urllib.parse.urljoin(base, url)
        if not own(absolute):
            (report.third_party_links if kind == "link" else report.third_party).append((kind, where, absolute))
        return absolute

    seen = set()

    def fetch(kind, absolute, counted):
        if absolute in seen or not own(absolute):
            return None
        seen.add(absolute)
        parts = urllib.parse.urlsplit(absolute)
        if parts.scheme not in ("http", "https"):
            return None
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        st, _h, body = http_get(server.port, target)
        if st != 200:
            report.problems.append(f"{kind} {target} answered {st}")
        report.files.append((kind, target, len(body), len(gzip.compress(body, 9)), counted))
        return body

    def follow_css(base, text):
        for kind, url in css_urls(text):
            absolute = classify(kind, "stylesheet", base, url)
            if kind == "css-import":
                body = fetch("css", absolute, True)
                if body is not None:
                    follow_css(absolute, body.decode("utf-8", errors="replace"))
            else:
                fetch("css asset (font/image)", absolute, False)

    for kind, where, url in parser.urls:
        absolute = classify(kind, where, page_url, url)
        if kind == "stylesheet":
            body = fetch("css", absolute, True)
            if body is not None:
                follow_css(absolute, body.decode("utf-8", errors="replace"))
        elif kind == "script":
            body = fetch("js", absolute, True)
            if body is not None:
                for m in ABSOLUTE_URL.finditer(body.decode("utf-8", errors="replace")):
                    if not own(urllib.parse.urljoin(page_url, m.group(0))):
                        report.js_absolute_urls.append(m.group(0))
        elif kind == "image":
            fetch("image (excluded)", absolute, False)
        elif kind == "resource":
            fetch("other resource", absolute, True)
    for text in parser.inline_css:
        follow_css(page_url, text)
    return report


# --------------------------------------------------------------------------- database

def sqlalchemy_url(database_url: str, instance: Path) -> str:
    from widget_server.config import from_env
    return from_env(str(instance), {"DATABASE_URL": database_url})["DATABASE_URL"]


def count_signups(url: str, tag: str) -> dict:
    from sqlalchemy import create_engine, text
    engine = create_engine(url)
    pattern = f"bench-{tag}-%"
    try:
        with engine.connect() as conn:
            customers = conn.execute(text(
                "SELECT count(*), count(DISTINCT signup_key), count(DISTINCT email) FROM customer "
                "WHERE tenant = :tenant AND email LIKE :pattern"), {"tenant": TENANT, "pattern": pattern}).one()
            contract_ids = conn.execute(text(
                "SELECT contract.public_id FROM contract JOIN customer ON customer.id = contract.customer_id "
                "WHERE customer.tenant = :tenant AND customer.email LIKE :pattern"),
                {"tenant": TENANT, "pattern": pattern}).scalars().all()
    finally:
        engine.dispose()
    return {"customers": customers[0], "distinct_submissions": customers[1], "distinct_emails": customers[2],
            "contract_ids": contract_ids}


def settled_count(url: str, tag: str, timeout: float = 10.0) -> dict:
    """The count once it stops changing: requests wrk abandoned at its end may still commit."""
    deadline = time.monotonic() + timeout
    last = count_signups(url, tag)
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = count_signups(url, tag)
        if now["customers"] == last["customers"]:
            return now
        last = now
    return last


# --------------------------------------------------------------------------- the run

def session_for_post(server: Server) -> tuple[str, str]:
    """One GET of the form: the session cookie and its CSRF token, valid for all POSTs of the run."""
    status, headers, body = http_get(server.port, SIGNUP_PATH)
    if status != 200:
        raise BenchError(f"GET {SIGNUP_PATH} answered {status}")
    cookie = None
    for value in headers.get_all("Set-Cookie") or []:
        name, _, rest = value.partition("=")
        if name.strip() == SESSION_COOKIE:
            cookie = f"{SESSION_COOKIE}={rest.split(';', 1)[0]}"
    token = re.search(r'name="csrf_token" value="([^"]+)"', body.decode())
    if not cookie or not token:
        raise BenchError("the sign-up form set no session cookie or has no csrf_token")
    return cookie, token.group(1)


def post_script(workdir: Path, name: str, tag: str, cookie: str, token: str, window: float) -> tuple[Path, Path]:
    fields = {"first_name": "Bench", "last_name": "Runner", "street": "Benchweg 1", "postal_code": "10115",
              "city": "Berlin", "country": "DE", "payment_method": "invoice", "consent": "1", "csrf_token": token}
    ids = workdir / f"{name}-ids.txt"
    script = write_lua(workdir / f"{name}.lua", ids_path=str(ids), post={
        "tag": tag, "path": SIGNUP_PATH, "body": urllib.parse.urlencode(fields), "window": window,
        "headers": {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie},
    })
    return script, ids


def fmt_ms(value: float) -> str:
    return f"{value:.1f}"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def run_main(run, args, prefix: str) -> int:
    """Run `run(args, procs, workdir)` with its child processes and temporary folder cleaned up afterwards."""
    signal.signal(signal.SIGTERM, _raise_exit)
    procs = Processes()
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        return run(args, procs, workdir)
    finally:
        procs.cleanup()
        shutil.rmtree(workdir, ignore_errors=True)


def script_main(main, what: str) -> None:
    """`sys.exit(main())`, with a short message when the benchmark itself could not run."""
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"{what} could not run: {exc}", file=sys.stderr)
        sys.exit(2)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=10, help="seconds per measured wrk run (default 10)")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of unmeasured wrk load before each run (default 2)")
    parser.add_argument("--drain", type=float, default=5,
                        help="seconds the POST run waits, starting no new request, for the answers to the "
                        "requests in flight (default 5)")
    parser.add_argument("--connections", type=int, default=32, help="wrk -c (default 32)")
    parser.add_argument("--wrk-threads", type=int, default=2, help="wrk -t (default 2)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn --workers, both apps (default 2)")
    parser.add_argument("--threads", type=int, default=1, help="gunicorn --threads, both apps (default 1: sync worker)")
    parser.add_argument("--wait-idle", type=float, default=60,
                        help="seconds to wait at most for other processes to leave the CPUs idle (default 60)")
    parser.add_argument("--max-busy", type=float, default=20,
                        help="%% of all CPUs busy that counts as idle enough to start (default 20)")
    parser.add_argument("--database-url", help="PostgreSQL URL to use instead of a temporary SQLite file "
                        "(migrated; the run adds its customers to it)")
    parser.add_argument("--wrk", default=shutil.which("wrk") or "/usr/bin/wrk", help="the wrk binary")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, Lua scripts, database)")
    parser.add_argument("--results", type=Path, default=BENCH / "results",
                        help="folder for the JSON result file (default bench/results/, git-ignored)")
    args = parser.parse_args(argv)
    if args.duration <= 0 or args.warmup < 0 or args.connections < args.wrk_threads:
        parser.error("need --duration > 0, --warmup >= 0 and --connections >= --wrk-threads")
    if not Path(args.wrk).exists():
        raise BenchError(f"wrk not found at {args.wrk} (make system-deps installs it)")

    budget = int(120 + args.wait_idle + 3 * (args.duration + args.warmup + 45) + 2 * args.drain)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started with SIGINT ignored
    signal.signal(signal.SIGTERM, _raise_exit)
    signal.signal(signal.SIGHUP, _raise_exit)
    signal.signal(signal.SIGALRM, _raise_timeout)
    signal.alarm(budget)

    procs = Processes()
    workdir = Path(tempfile.mkdtemp(prefix="widget-bench-"))
    try:
        return run(args, procs, workdir)
    finally:
        signal.alarm(0)
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)  # a second Ctrl-C must not cut the cleanup short
        procs.cleanup()
        if args.keep:
            print(f"\nkept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def run(args, procs: Processes, workdir: Path) -> int:
    instance = workdir / "instance"
    instance.mkdir()
    database_url = args.database_url or f"sqlite:///{instance / 'widget.db'}"
    backend = "PostgreSQL" if args.database_url else "SQLite (temporary file)"
    if not list((ROOT / "translations").glob("*/LC_MESSAGES/messages.mo")):
        print("warning: no compiled translations (run `make translations`); pages fall back to English", file=sys.stderr)

    env = {k: v for k, v in os.environ.items() if not k.startswith("WIDGET_") and k != "DATABASE_URL"}
    env.update({
        "DATABASE_URL": database_url,
        "WIDGET_INSTANCE_PATH": str(instance),
        "WIDGET_SECRET_KEY": secrets.token_hex(32),
        "WIDGET_ENV": "production",
        "WIDGET_PUBLIC_URL": "https://widget.bench.invalid",
        # every POST comes from 127.0.0.1: the per-client sign-up limit would answer most of them 429
        "WIDGET_SIGNUP_RATE_LIMIT": "10000000 per minute",
        "PYTHONDONTWRITEBYTECODE": "1",
    })
    background = idle_check()
    waited = 0.0
    while background >= args.max_busy and waited < args.wait_idle:
        if waited == 0:
            print(f"machine {background:.0f} % busy: waiting up to {args.wait_idle:g} s for it to calm down "
                  f"(below {args.max_busy:g} %) ...", flush=True)
        time.sleep(4)
        background = idle_check()
        waited += 5
    print(f"machine load before the run: {background:.0f} % of {os.cpu_count()} CPUs busy", flush=True)
    print(f"migrating {backend} ...", flush=True)
    migrate = subprocess.run([str(BIN / "widget-server"), "db", "upgrade"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=120)
    if migrate.returncode != 0:
        output = (migrate.stdout + migrate.stderr).strip().splitlines()
        raise BenchError("widget-server db upgrade failed:\n" + "\n".join(output[-12:]))

    print("starting gunicorn (hello-world, widget-server) ...", flush=True)
    hello = start_gunicorn(procs, "hello", "hello:app", args=args, env=env, cwd=ROOT, workdir=workdir,
                           extra=["--pythonpath", str(BENCH)])
    app = start_gunicorn(procs, "widget", "widget_server:create_app()", args=args, env=env, cwd=ROOT, workdir=workdir)
    wait_ready(hello, "/", args.workers)
    wait_ready(app, SIGNUP_PATH, args.workers)

    get_script = write_lua(workdir / "get.lua")
    results: dict[str, WrkResult] = {}
    for key, server, path in (("hello", hello, "/"), ("page", app, SIGNUP_PATH)):
        print(f"wrk: {key} GET {path} ({args.warmup:g} s warm-up, {args.duration:g} s measured) ...", flush=True)
        if args.warmup:
            run_wrk(procs, f"{key} warm-up", server, path, get_script, args=args, duration=args.warmup)
        results[key] = run_wrk(procs, key, server, path, get_script, args=args, duration=args.duration)

    print(f"wrk: sign-up POST {SIGNUP_PATH} ({args.warmup:g} s warm-up, {args.duration:g} s measured) ...", flush=True)
    cookie, token = session_for_post(app)
    if args.warmup:
        script, _ids = post_script(workdir, "post-warmup", secrets.token_hex(4), cookie, token, args.warmup)
        run_wrk(procs, "post warm-up", app, SIGNUP_PATH, script, args=args, duration=args.warmup,
                success_codes=(303,), drain=args.drain)
    tag = secrets.token_hex(4)
    script, ids_path = post_script(workdir, "post", tag, cookie, token, args.duration)
    results["post"] = run_wrk(procs, "post", app, SIGNUP_PATH, script, args=args, duration=args.duration,
                              success_codes=(303,), drain=args.drain)
    db = settled_count(sqlalchemy_url(database_url, instance), tag)

    own = {f"127.0.0.1:{app.port}", "widget.bench.invalid:443"}
    page = measure_page(app, SIGNUP_PATH, own)

    # ----------------------------------------------------------------- report
    hello_r, page_r, post_r = results["hello"], results["page"], results["post"]
    print()
    print(f"widget-server sign-up benchmark, {datetime.now().isoformat(timespec='seconds')}")
    print(f"  machine: {os.cpu_count()} CPUs, {platform.python_implementation()} {platform.python_version()}, "
          f"wrk and both servers on the same machine")
    worker = "sync" if args.threads == 1 else "gthread"
    print(f"  gunicorn --workers {args.workers} --threads {args.threads} ({worker} worker), same for both apps; "
          f"wrk -t{args.wrk_threads} -c{args.connections} -d{args.duration:g}s after {args.warmup:g} s warm-up; "
          f"database: {backend}")
    print()
    header = (f"{'scenario':<30}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'req/s vs hello':>16}{'p99 vs hello':>14}"
              f"{'CPU ms/req':>12}{'non-2xx/3xx':>13}{'sock err':>10}")
    print(header)
    print("-" * len(header))
    rows = (("hello-world GET /", hello_r), ("sign-up page GET", page_r), ("sign-up POST (303 only)", post_r))
    for label, r in rows:
        ratio = r.rps / hello_r.rps if hello_r.rps else 0
        p99_ratio = r.ms("p99") / hello_r.ms("p99") if hello_r.ms("p99") else 0
        print(f"{label:<30}{r.rps:>9.1f}{fmt_ms(r.ms('p50')):>9}{fmt_ms(r.ms('p99')):>9}"
              f"{ratio * 100:>15.1f}%{p99_ratio:>13.1f}x{r.cpu_ms_per_request:>12.2f}{r.non_2xx_3xx:>13}{r.socket_errors:>10}")
    print(f"  (sign-up page GET = GET {SIGNUP_PATH}; sign-up POST = POST to the same URL, a new customer each; "
          f"CPU ms/req = the gunicorn processes' CPU time per response)")
    print(f"  (POST req/s: 303 answers to requests started within the {args.duration:g} s window, which is followed by a "
          f"{args.drain:g} s drain without new requests; p50/p99 over all answers)")
    print()
    for label, r in rows:
        codes = ", ".join(f"{code}: {n}" for code, n in sorted(r.statuses.items()))
        print(f"  {label}: {r.data['requests']} responses in {r.duration_s:.2f} s ({codes}); "
              f"mean {fmt_ms(r.ms('mean'))} ms, p90 {fmt_ms(r.ms('p90'))} ms, max {fmt_ms(r.ms('max'))} ms")
        if r.cpu:
            print(f"    CPU during the run (% of all {os.cpu_count()} CPUs): server {r.cpu.server:.0f} %, "
                  f"wrk {r.cpu.wrk:.0f} %, other processes {r.cpu.other:.0f} %, idle {max(0.0, 100 - r.cpu.busy):.0f} %")
        e = r.data["errors"]
        if r.socket_errors:
            print(f"    socket errors: connect {e['connect']}, read {e['read']}, write {e['write']}, timeout {e['timeout']}")

    foreign = max((r.cpu.other for _l, r in rows if r.cpu), default=0.0)
    if foreign >= 10 or background >= 20:
        print(f"  WARNING: other processes used up to {foreign:.0f} % of the CPUs during the runs "
              f"({background:.0f} % before): the machine was shared, so these figures are pessimistic; rerun when idle.")

    ratio = page_r.rps / hello_r.rps if hello_r.rps else 0
    ok_ratio = ratio >= TARGET_RPS_RATIO
    ok_p99 = page_r.ms("p99") < TARGET_P99_MS
    ok_weight = page.weight <= TARGET_WEIGHT_BYTES
    ok_third = not page.third_party

    ids = [line for line in ids_path.read_text().splitlines() if line] if ids_path.exists() else []
    in_db = set(db["contract_ids"])
    lost = [i for i in ids if i not in in_db]
    duplicated_303 = len(ids) - len(set(ids))
    extra = len(in_db - set(ids))
    # Requests sent but never answered (at most one per connection): 0 when the drain was long enough.
    in_flight = min(max(0, post_r.data["sent"] - post_r.data["received"]), args.connections)
    successes = post_r.statuses.get(303, 0)
    exact = db["customers"] == successes and extra == 0
    ok_db = (not lost and not duplicated_303 and db["customers"] == db["distinct_submissions"] == db["distinct_emails"]
             and len(ids) == successes and extra <= in_flight)

    print()
    print("Targets")
    print(f"  sign-up page req/s >= {TARGET_RPS_RATIO:.0%} of hello-world: {ratio:.1%} "
          f"({page_r.rps:.1f} / {hello_r.rps:.1f})  {verdict(ok_ratio)}")
    if page_r.cpu_ms_per_request:
        print(f"    (by server CPU time per request, which other load hardly affects: "
              f"{hello_r.cpu_ms_per_request:.2f} / {page_r.cpu_ms_per_request:.2f} ms = "
              f"{hello_r.cpu_ms_per_request / page_r.cpu_ms_per_request:.1%})")
    print(f"  sign-up page p99 < {TARGET_P99_MS:g} ms at {args.connections} connections: "
          f"{fmt_ms(page_r.ms('p99'))} ms  {verdict(ok_p99)}")
    print(f"  sign-up page weight <= {TARGET_WEIGHT_BYTES // 1000} KB (HTML + CSS + JS, uncompressed, logo excluded): "
          f"{page.weight} B = {page.weight / 1000:.1f} KB (gzip -9: {page.weight_gzip} B)  {verdict(ok_weight)}")
    for kind, path, size, gz, counted in page.files:
        print(f"    {kind:<22}{size:>8} B {'' if counted else '(not counted) '}{path}")
    print(f"  no third-party host in the page's resources, CSS and form targets: "
          f"{len(page.third_party)} found  {verdict(ok_third)}")
    for kind, where, url in page.third_party:
        print(f"    {where}: {url}")
    if page.third_party_links:
        hosts = sorted({urllib.parse.urlsplit(u).hostname or u for _k, _w, u in page.third_party_links})
        print(f"    note: {len(page.third_party_links)} plain <a href> link(s) lead to other hosts "
              f"(navigation only, nothing loaded): {', '.join(hosts)}")
        for _kind, where, url in page.third_party_links:
            print(f"      {where}: {url}")
    if page.js_absolute_urls:
        print(f"    note: absolute URLs in the page's JS: {', '.join(sorted(set(page.js_absolute_urls)))}")
    for problem in page.problems:
        print(f"    problem: {problem}")

    print()
    print("Database check (sign-up POST run)")
    print(f"  303 responses: {successes} ({post_r.data['ok_in_window']} within the {args.duration:g} s window, "
          f"the rest during the {args.drain:g} s drain); requests unanswered when wrk stopped: {in_flight}")
    print(f"  customers in the database for this run: {db['customers']} ({db['distinct_submissions']} distinct "
          f"submissions, {db['distinct_emails']} distinct e-mails); lost (303 without its contract): {len(lost)}; "
          f"duplicated (one contract redirected to twice): {duplicated_303}")
    if exact and ok_db:
        print(f"  customers == 303 responses: {db['customers']} == {successes}  PASS")
    elif ok_db:
        print(f"  customers == 303 responses: {db['customers']} != {successes}  PASS (nothing lost or duplicated: the "
              f"{extra} extra customer(s) are requests the server completed after wrk stopped reading; "
              f"{in_flight} were unanswered; raise --drain)")
    else:
        print(f"  customers == 303 responses: {db['customers']} != {successes}  FAIL ({extra} customer(s) without a 303, "
              f"{in_flight} request(s) unanswered when wrk stopped)")
    print()

    summary = {
        "time": datetime.now().isoformat(timespec="seconds"),
        "settings": {"drain": args.drain, "workers": args.workers, "threads": args.threads, "connections": args.connections,
                     "wrk_threads": args.wrk_threads, "duration": args.duration, "warmup": args.warmup,
                     "database": backend, "cpus": os.cpu_count(), "busy_before_percent": background},
        "cpu_percent": {k: r.cpu.__dict__ | {"other": r.cpu.other} for k, r in results.items() if r.cpu},
        "wrk": {k: {**r.data, "success_rps": r.rps, "server_cpu_ms_per_request": r.cpu_ms_per_request}
                for k, r in results.items()},
        "targets": {"rps_ratio": ratio, "rps_ratio_ok": ok_ratio, "page_p99_ms": page_r.ms("p99"), "p99_ok": ok_p99,
                    "page_weight_bytes": page.weight, "weight_ok": ok_weight,
                    "third_party": page.third_party, "third_party_links": page.third_party_links},
        "page_files": page.files,
        "database": {"customers": db["customers"], "responses_303": successes, "lost": len(lost),
                     "duplicated": duplicated_303, "extra": extra, "in_flight": in_flight, "ok": ok_db},
    }
    try:
        args.results.mkdir(parents=True, exist_ok=True)
        out = args.results / f"signup-{datetime.now():%Y%m%d-%H%M%S}.json"
        out.write_text(json.dumps(summary, indent=2))
        print(f"\nresults written to {out}")
    except OSError as exc:
        print(f"\n(could not write results: {exc})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\ninterrupted; all processes stopped", file=sys.stderr)
        sys.exit(130)
    except BenchError as exc:
        print(f"\nbenchmark failed: {exc}", file=sys.stderr)
        sys.exit(2)
