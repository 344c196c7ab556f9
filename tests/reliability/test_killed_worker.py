"""A web worker killed (SIGKILL) in the middle of a sign-up: nothing of it is stored, and sending
the same form again makes exactly one customer."""
import http.client
import os
import signal
import sqlite3
import threading
import time
import urllib.parse
from pathlib import Path

from sqlalchemy import create_engine, func, select, text

from tests.conftest import VALID_SIGNUP, hidden_inputs
from widget_server.storage.models import AuditEvent, Contract, Customer, OutboxEvent

from .conftest import Instance

EMAIL = "killed-midway@example.com"


def request(port, method, path, *, cookie=None, form=None, timeout=30):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    headers = {"Cookie": cookie} if cookie else {}
    body = None
    if form is not None:
        body = urllib.parse.urlencode(form)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    connection.request(method, path, body=body, headers=headers)
    answer = connection.getresponse()
    return answer.status, answer.headers, answer.read()


def workers_of(master: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{master}/task/{master}/children").read_text().split()]


class SignupBlocker:
    """Holds the database so that a sign-up waits inside its transaction: on PostgreSQL at its audit
    insert (after the customer and contract rows), on SQLite at its first write."""

    def __init__(self, database_url: str):
        self.url = database_url
        if database_url.startswith("sqlite"):
            self.connection = sqlite3.connect(database_url[len("sqlite:///"):], isolation_level=None, timeout=5)
            self.connection.execute("BEGIN EXCLUSIVE")
        else:
            self.engine = create_engine(database_url)
            self.connection = self.engine.connect()
            self.connection.execute(text("LOCK TABLE audit_event IN ACCESS EXCLUSIVE MODE"))

    def wait_until_blocked(self):
        if self.url.startswith("sqlite"):
            time.sleep(1.5)  # the sign-up now waits for the lock (busy timeout 15 s)
            return
        watcher = create_engine(self.url)
        deadline = time.monotonic() + 15
        with watcher.connect() as conn:
            while time.monotonic() < deadline:
                # psycopg prepares statements: the backend waits for the table lock while parsing the
                # INSERT, before pg_stat_activity shows that query, so look for the lock wait itself.
                waiting = conn.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                           "AND wait_event = 'relation' AND datname = current_database()"))
                if waiting:
                    # ... by then it has written its customer row: the transaction is half done
                    wrote = conn.scalar(text(
                        "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                        "WHERE c.relname = 'customer' AND l.mode = 'RowExclusiveLock' AND l.pid IN "
                        "(SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock')"))
                    assert wrote == 1
                    break
                time.sleep(0.1)
            else:
                raise AssertionError("the sign-up never reached its audit insert")
        watcher.dispose()

    def release(self):
        if self.url.startswith("sqlite"):
            self.connection.execute("ROLLBACK")
            self.connection.close()
        else:
            self.connection.rollback()
            self.connection.close()
            self.engine.dispose()


def count(database_url, model, **where):
    engine = create_engine(database_url)
    with engine.connect() as conn:
        query = select(func.count()).select_from(model)
        for column, value in where.items():
            query = query.where(getattr(model, column) == value)
        found = conn.scalar(query)
    engine.dispose()
    return found


def test_a_sign_up_cut_off_by_sigkill_stores_nothing(instance_env, database_url, tmp_path):
    service = Instance({**instance_env, "WIDGET_SIGNUP_RATE_LIMIT": "1000 per minute"}, tmp_path / "gunicorn.log")
    try:
        status, headers, page = request(service.port, "GET", "/t/demo/signup/pro")
        assert status == 200
        cookie = headers["Set-Cookie"].split(";", 1)[0]
        form = {**VALID_SIGNUP, **hidden_inputs(page.decode()), "email": EMAIL}
        assert request(service.port, "GET", "/healthz")[0] == 200  # the worker's database connection is set up
        before = {model: count(database_url, model) for model in (Customer, Contract, AuditEvent, OutboxEvent)}

        blocker = SignupBlocker(database_url)
        outcome = {}

        def post():
            try:
                outcome["status"] = request(service.port, "POST", "/t/demo/signup/pro", cookie=cookie, form=form)[0]
            except (OSError, http.client.HTTPException) as exc:
                outcome["error"] = exc

        thread = threading.Thread(target=post)
        thread.start()
        try:
            blocker.wait_until_blocked()
            [worker] = workers_of(service.process.pid)
            os.kill(worker, signal.SIGKILL)
        finally:
            blocker.release()
        thread.join(timeout=30)
        assert "error" in outcome, outcome  # the browser got no answer
        time.sleep(1)  # the database ends the dead worker's transaction

        assert {model: count(database_url, model) for model in before} == before  # nothing half-stored
        deadline = time.monotonic() + 30
        while True:  # gunicorn's master starts a new worker
            try:
                if request(service.port, "GET", "/healthz", timeout=5)[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "gunicorn.log").read_text()
            time.sleep(0.2)
        status, _headers, _ = request(service.port, "POST", "/t/demo/signup/pro", cookie=cookie, form=form)
        assert status == 303  # the visitor sends the form again: it works
        assert request(service.port, "POST", "/t/demo/signup/pro", cookie=cookie, form=form)[0] == 303
        assert count(database_url, Customer, email=EMAIL) == 1
    finally:
        service.stop()
