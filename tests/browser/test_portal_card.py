"""The portal's card page and "pay now by card" in a real Chromium, with the fake Stripe.js and
Payment Element from the fake Stripe on 127.0.0.1: axe finds no violation, a card is saved and the
open invoice is paid with it."""
from datetime import date

import pytest
from sqlalchemy import select

from tests.conftest import SIGNUP_FIELDS
from tests.payments.fake_stripe import fake_stripe  # noqa: F401  (fixture)
from tests.tenants.test_loader import edit
from widget_server.billing.contracts import PaymentChoice, start_contract
from widget_server.billing.run import bill_due
from widget_server.extensions import db
from widget_server.portal import access
from widget_server.storage.models import Invoice

from .steps import describe_violations, run_axe

pytestmark = pytest.mark.browser


def test_pay_now_saves_a_card_and_pays_the_open_invoice(app, service, page, axe_source, themes_dir, fake_stripe):
    edit(themes_dir / "demo" / "theme.toml", 'methods = ["invoice", "sepa"]', 'methods = ["invoice", "sepa", "card"]')
    app.config["WIDGET_STRIPE_JS_URL"] = fake_stripe.js_url
    with app.app_context():
        registry = app.extensions["widget_themes"]
        contract = start_contract(db.session, tenant="demo", plan=registry.get("demo").plan("pro"), email="anna@example.com",
                                  locale="en", fields=SIGNUP_FIELDS, payment=PaymentChoice(kind="invoice"),
                                  signup_key="portal-card", today=date.today())
        db.session.commit()
        bill_due(db.session, registry.get, date.today())
        db.session.commit()
        token, _id = access.issue("demo", contract.customer, flow=None, return_url=None, locale="en")
    page.goto(f"{service.url}/t/demo/portal/enter?token={token}")
    with page.expect_navigation():
        page.click("text=Pay now by card")  # no card yet: the card page, which pays after saving
    assert "/portal/payment-method/card" in page.url
    card_frame = page.frame_locator("#payment-element iframe")
    card_frame.locator("#number").fill("4242 4242 4242 4242")
    violations = run_axe(page.main_frame, axe_source)
    assert not violations, describe_violations(violations, "portal card page")
    with page.expect_navigation():
        page.click("text=Save card and pay")
    assert "Paid:" in page.inner_text("main") and "Visa ending 4242" in page.inner_text("main")
    violations = run_axe(page.main_frame, axe_source)
    assert not violations, describe_violations(violations, "card payment result")
    with app.app_context():
        assert [i.status for i in db.session.scalars(select(Invoice))] == ["paid"]
