"""Fixtures for e-mail, webhook, dunning and job tests: private mail and queue folders, a real HTTP
receiver and a real SMTP server on 127.0.0.1, contracts signed up in code."""
import json
import socket
import threading
import uuid
from datetime import date
from email import policy
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.conftest import SIGNUP_FIELDS
from widget_server.billing.contracts import PaymentChoice, start_contract
from widget_server.extensions import db, jobs


@pytest.fixture
def app(app, tmp_path):
    """The shared app, with mail, job queue and PDF cache in this test's own folder."""
    app.config.update(
        WIDGET_MAIL_DIR=str(tmp_path / "mail"),
        WIDGET_JOBS_DB=str(tmp_path / "jobs.sqlite3"),
        WIDGET_JOBS_QUEUE=f"test-{uuid.uuid4().hex[:12]}",
        WIDGET_PDF_CACHE_DIR=str(tmp_path / "pdfs"),
    )
    jobs.init_app(app)
    yield app


@pytest.fixture
def customer_contract(session, tenants):
    """A contract for a customer with a chosen locale, payment and name."""
    counter = iter(range(1000))

    def make(tenant="demo", plan="pro", locale="en", payment=None, fields=None, email="anna@example.com",
             on=date(2026, 1, 31)):
        t = tenants(tenant)
        contract = start_contract(session, tenant=tenant, plan=t.plan(plan), email=email, locale=locale,
                                  fields=fields or SIGNUP_FIELDS, payment=payment or PaymentChoice(kind="invoice"),
                                  signup_key=f"nt{next(counter)}-{tenant}-{locale}", today=on)
        session.commit()
        return contract
    yield make


SEPA = PaymentChoice(kind="sepa", account_holder="Anna Berg", iban="DE89370400440532013000")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Receiver:
    """A merchant's webhook endpoint: records every request, answers with the queued statuses (then 200)."""

    def __init__(self):
        self.requests: list[dict] = []
        self.statuses: list[int] = []
        self.redirect_to: str | None = None
        self.hold: threading.Event | None = None  # when set: the first request waits for it (a hanging merchant)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body,
                                          "json": json.loads(body)})
                if receiver.hold is not None and len(receiver.requests) == 1:
                    receiver.hold.wait(30)
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                if 300 <= status < 400 and receiver.redirect_to:
                    self.send_header("Location", receiver.redirect_to)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/widget"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made = []

    def make() -> Receiver:
        made.append(Receiver())
        return made[-1]
    yield make
    for r in made:
        r.close()


class Inbox:
    """What a real SMTP server (aiosmtpd) on 127.0.0.1 received."""

    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    @property
    def messages(self):
        return [BytesParser(policy=policy.default).parsebytes(e.original_content or e.content) for e in self.envelopes]


@pytest.fixture
def smtp_server():
    """(inbox, port) of a running SMTP server; with `credentials` it requires AUTH LOGIN/PLAIN."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    controllers = []

    def start(credentials: tuple[str, str] | None = None):
        inbox = Inbox()
        port = free_port()
        options = {}
        if credentials:
            def authenticator(server, session, envelope, mechanism, auth_data):
                ok = (auth_data.login.decode(), auth_data.password.decode()) == credentials
                return AuthResult(success=ok, handled=False)
            options = {"auth_required": True, "auth_require_tls": False, "authenticator": authenticator}
        controller = Controller(inbox, hostname="127.0.0.1", port=port, **options)
        controller.start()
        controllers.append(controller)
        return inbox, port
    yield start
    for controller in controllers:
        controller.stop()


def outbox_events(session, type_=None):
    from sqlalchemy import select

    from widget_server.storage.models import OutboxEvent
    stmt = select(OutboxEvent).order_by(OutboxEvent.id)
    if type_:
        stmt = stmt.where(OutboxEvent.type == type_)
    return list(session.scalars(stmt))


def read_eml(path):
    return BytesParser(policy=policy.default).parsebytes(path.read_bytes())


__all__ = ["SEPA", "Receiver", "db", "free_port", "outbox_events", "read_eml"]
