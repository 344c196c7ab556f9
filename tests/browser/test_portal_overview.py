"""The portal overview, entered with a one-time link in a real browser: axe finds no violation."""
from datetime import date

import pytest

from tests.conftest import SIGNUP_FIELDS
from widget_server.billing.contracts import PaymentChoice, start_contract
from widget_server.billing.run import bill_due
from widget_server.extensions import db
from widget_server.portal import access

from .steps import describe_violations, run_axe

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("lang", ["en", "de"])
def test_overview_with_an_open_invoice_has_no_axe_violations(app, service, page, axe_source, lang):
    with app.app_context():
        registry = app.extensions["widget_themes"]
        demo = registry.get("demo")
        contract = start_contract(db.session, tenant="demo", plan=demo.plan("pro"), email="anna@example.com", locale=lang,
                                  fields=SIGNUP_FIELDS, payment=PaymentChoice(kind="invoice"), signup_key="portal" + lang,
                                  today=date.today())
        db.session.commit()
        bill_due(db.session, registry.get, date.today())
        token, _id = access.issue("demo", contract.customer, flow=None, return_url=None, locale=lang)
    page.goto(f"{service.url}/t/demo/portal/enter?token={token}")
    assert page.locator("h1").inner_text() in ("Your customer account", "Ihr Kundenkonto")
    violations = run_axe(page.main_frame, axe_source)
    assert not violations, describe_violations(violations, "portal overview")
