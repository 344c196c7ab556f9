"""The portal's invoices and payment method pages in a real browser: axe finds no violation,
also with validation errors on the page, and the PDF link downloads the invoice."""
from datetime import date

import pytest

from tests.conftest import SIGNUP_FIELDS
from widget_server.billing.contracts import PaymentChoice, start_contract
from widget_server.billing.run import bill_due
from widget_server.extensions import db
from widget_server.portal import access

from .steps import describe_violations, run_axe

pytestmark = pytest.mark.browser


@pytest.fixture
def signed_in(app, service, page):
    """A SEPA customer with two invoices, signed in to the portal in the browser."""

    def enter(lang):
        with app.app_context():
            registry = app.extensions["widget_themes"]
            contract = start_contract(
                db.session, tenant="demo", plan=registry.get("demo").plan("pro"), email="anna@example.com", locale=lang,
                fields=SIGNUP_FIELDS, signup_key="portal-pages-" + lang, today=date(2026, 1, 31),
                payment=PaymentChoice(kind="sepa", account_holder="Anna Berg", iban="DE89370400440532013000"))
            db.session.commit()
            bill_due(db.session, registry.get, date(2026, 2, 28))
            db.session.commit()
            token, _id = access.issue("demo", contract.customer, flow=None, return_url=None, locale=lang)
        page.goto(f"{service.url}/t/demo/portal/enter?token={token}")
        return page

    yield enter


@pytest.mark.parametrize("lang", ["en", "de"])
def test_invoices_and_payment_method_pages_have_no_axe_violations(service, signed_in, axe_source, lang):
    page = signed_in(lang)
    page.goto(f"{service.url}/t/demo/portal/invoices")
    assert page.locator("table.invoices tbody tr").count() == 2
    violations = run_axe(page.main_frame, axe_source)
    assert not violations, describe_violations(violations, "portal invoices")

    with page.expect_download() as download:
        page.locator("table.invoices tbody tr").first.get_by_role("link").click()
    assert download.value.suggested_filename == "DEMO-2026-000002.pdf"

    page.goto(f"{service.url}/t/demo/portal/payment-method")
    violations = run_axe(page.main_frame, axe_source)
    assert not violations, describe_violations(violations, "portal payment method")

    # Switch to a new SEPA mandate with a wrong IBAN: the page with its errors is accessible too.
    page.locator("#pm-sepa").check()
    page.locator("#f-account_holder").fill("Anna Berg")
    page.locator("#f-iban").fill("DE00 1234")
    page.locator("form:has(#f-iban) button[type=submit]").click()
    page.locator("#f-iban-error").wait_for()
    violations = run_axe(page.main_frame, axe_source)
    assert not violations, describe_violations(violations, "portal payment method with errors")

    page.locator("#f-iban").fill("DE02 5001 0517 0137 0750 30")
    page.locator("#f-sepa_mandate").check()
    page.locator("form:has(#f-iban) button[type=submit]").click()
    page.locator("p.notice[role=status]").wait_for()
    assert "DE02 •••• •••• •••• ••50 30" in page.locator("#main").inner_text()
