"""Steps the contract page tests share (change plan, pause, cancel): contracts signed up in code
and billed up to the tenant's today, a browser signed into the portal, forms read from pages."""
import re
from datetime import date
from html import unescape
from itertools import count

from sqlalchemy import select

from tests.conftest import SIGNUP_FIELDS, hidden_inputs
from widget_server.billing.contracts import PaymentChoice, start_contract
from widget_server.billing.run import bill_due
from widget_server.extensions import db
from widget_server.portal import access
from widget_server.storage.models import AuditEvent, Contract, OutboxEvent

_keys = count()


def contract_for(app, *, tenant="demo", plan="pro", locale="en", on: date | None = None, email="anna@example.com",
                 customer=None) -> str:
    """Sign a customer up (or add a contract to `customer`'s public id) and bill up to today; the contract's public id."""
    with app.app_context():
        registry = app.extensions["widget_themes"]
        t = registry.get(tenant)
        today = on or t.today()
        contract = start_contract(db.session, tenant=tenant, plan=t.plan(plan), email=email, locale=locale,
                                  fields=SIGNUP_FIELDS, payment=PaymentChoice(kind="invoice"),
                                  signup_key=f"steps{next(_keys)}{tenant}{plan}", today=today)
        db.session.commit()
        bill_due(db.session, registry.get, t.today())
        return contract.public_id


def signed_in(app, contract_id: str, *, locale: str | None = None):
    """A new browser with a portal session for the contract's customer."""
    with app.app_context():
        contract = db.session.scalar(select(Contract).where(Contract.public_id == contract_id))
        token, _id = access.issue(contract.tenant, contract.customer, flow=None, return_url=None, locale=locale)
        path = f"/t/{contract.tenant}/portal/enter?token={token}"
    browser = app.test_client()
    assert browser.get(path).status_code == 302
    return browser


def load(app, contract_id: str) -> Contract:
    """The contract as stored now (detached: read its columns only)."""
    with app.app_context():
        contract = db.session.scalar(select(Contract).where(Contract.public_id == contract_id))
        db.session.expunge(contract)
        return contract


def outbox(app, prefix="contract.") -> list[tuple[str, dict]]:
    with app.app_context():
        return [(e.type, e.payload) for e in db.session.scalars(
            select(OutboxEvent).where(OutboxEvent.type.like(prefix + "%")).order_by(OutboxEvent.id))]


def audit(app) -> list[tuple[str, str]]:
    with app.app_context():
        return [(e.action, e.actor) for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.action.like("contract.%")).order_by(AuditEvent.id))]


def forms(html: str) -> list[dict]:
    """Every POST form of a page as its hidden inputs (csrf_token, contract, action, ...)."""
    return [hidden_inputs(body) for body in re.findall(r'<form method="post"[^>]*>(.*?)</form>', html, re.S)]


def form_with(html: str, **wanted) -> dict:
    """The one form whose hidden inputs include `wanted`."""
    found = [f for f in forms(html) if all(f.get(k) == v for k, v in wanted.items())]
    assert len(found) == 1, (wanted, forms(html))
    return found[0]


def text(response) -> str:
    """A page's visible text, tags removed and whitespace collapsed, for sentence assertions."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", response.get_data(as_text=True), flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def csrf(response) -> str:
    """The CSRF token of a page the browser got."""
    return hidden_inputs(response.get_data(as_text=True))["csrf_token"]


def policy(themes_dir, old, new, tenant="demo"):
    """Edit the tenant's theme (the test's own copy): a portal policy switch."""
    theme = themes_dir / tenant / "theme.toml"
    source = theme.read_text(encoding="utf-8")
    assert old in source
    theme.write_text(source.replace(old, new), encoding="utf-8")
