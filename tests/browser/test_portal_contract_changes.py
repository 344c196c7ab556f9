"""Change plan, pause and cancel in a real browser: every step, its errors and the overview
afterwards have no axe violations, and the forms work as plain HTML forms."""
from datetime import date, timedelta

import pytest

from tests.conftest import SIGNUP_FIELDS
from widget_server.billing.contracts import PaymentChoice, start_contract
from widget_server.billing.run import bill_due
from widget_server.extensions import db
from widget_server.portal import access

from .steps import describe_violations, run_axe

pytestmark = pytest.mark.browser


def enter(app, service, page, lang, key):
    with app.app_context():
        registry = app.extensions["widget_themes"]
        demo = registry.get("demo")
        contract = start_contract(db.session, tenant="demo", plan=demo.plan("pro"), email="anna@example.com", locale=lang,
                                  fields=SIGNUP_FIELDS, payment=PaymentChoice(kind="invoice"), signup_key=key,
                                  today=demo.today())
        db.session.commit()
        bill_due(db.session, registry.get, demo.today())
        token, _id = access.issue("demo", contract.customer, flow=None, return_url=None, locale=lang)
        period_end = contract.current_period_end
    page.goto(f"{service.url}/t/demo/portal/enter?token={token}")
    return period_end


def axe_clean(page, axe_source, where):
    violations = run_axe(page.main_frame, axe_source)
    assert not violations, describe_violations(violations, where)


@pytest.mark.parametrize("lang", ["en", "de"])
def test_contract_pages_have_no_axe_violations(app, service, page, axe_source, lang):
    period_end = enter(app, service, page, lang, f"contract-pages-{lang}")
    base = f"{service.url}/t/demo/portal"

    page.goto(f"{base}/change-plan")
    axe_clean(page, axe_source, "change plan")
    page.locator("ul.plan-targets a").first.click()
    axe_clean(page, axe_source, "change plan preview")
    page.locator("form button.button").click()
    assert "done=scheduled" in page.url
    axe_clean(page, axe_source, "change plan, a change scheduled")
    page.locator("form button.button").click()  # withdraw it again
    assert "done=withdrawn" in page.url

    page.goto(f"{base}/pause")
    page.fill("#resume-on-1", (period_end + timedelta(days=200)).isoformat())
    page.locator("form button.button").click()
    assert page.locator(".error").count() == 1
    axe_clean(page, axe_source, "pause with an error")
    page.fill("#resume-on-1", (period_end + timedelta(days=20)).isoformat())
    page.locator("form button.button").click()
    assert "done=paused" in page.url
    axe_clean(page, axe_source, "pause scheduled")
    page.locator("form button.button").click()  # call it off

    page.goto(f"{base}/cancel")
    page.locator("form.card button.button").click()  # no reason chosen
    axe_clean(page, axe_source, "cancel: reason missing")
    page.check("#reason-no_time")
    page.locator("form.card button.button").click()
    axe_clean(page, axe_source, "cancel: offers")
    page.goto(f"{base}/cancel?reason=too_expensive")
    axe_clean(page, axe_source, "cancel: discount and downgrade offers")
    page.locator("a[href*='step=confirm']").click()
    axe_clean(page, axe_source, "cancel: confirm with the date")
    page.locator("form button.button").click()
    assert "done=cancelled" in page.url
    axe_clean(page, axe_source, "cancel: pending, with withdraw")
    page.goto(f"{base}/")
    axe_clean(page, axe_source, "overview with a pending cancellation")
    assert date.today()  # the pages above ran against the tenant's today
