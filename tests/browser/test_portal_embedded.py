"""The portal inside a merchant's page, as a customer uses it: the merchant's back end asks the API for a
portal link, the page on localhost embeds it from 127.0.0.1 (cross-site: the partitioned cookie carries the
session), and the customer changes the address, switches to SEPA, downloads an invoice PDF, changes the
plan after the preview, pauses, resumes, and is kept by a retention offer when cancelling. axe-core runs
inside the frame on every page."""
import pytest
from sqlalchemy import select

from tests.api.conftest import create_key
from tests.conftest import SIGNUP_FIELDS
from widget_server.billing.contracts import PaymentChoice, start_contract
from widget_server.billing.run import bill_due
from widget_server.extensions import db
from widget_server.storage.models import Contract, ContractDiscount, Customer, PaymentMethod

from .steps import VALID_IBAN, describe_violations, run_axe

pytestmark = pytest.mark.browser


@pytest.fixture
def portal_url(app):
    """A billed pro customer, and the one-time portal link the merchant's back end gets for them."""
    with app.app_context():
        registry = app.extensions["widget_themes"]
        demo = registry.get("demo")
        contract = start_contract(db.session, tenant="demo", plan=demo.plan("pro"), email="anna@example.com",
                                  locale="en", fields={**SIGNUP_FIELDS, "street": "Weg 1", "postal_code": "10115",
                                                       "city": "Berlin"},
                                  payment=PaymentChoice(kind="invoice"), signup_key="embedded-walk", today=demo.today())
        db.session.commit()
        bill_due(db.session, registry.get, demo.today())
        customer_id = contract.customer.public_id
    key = create_key(app, "demo")
    answer = app.test_client().post("/api/v1/portal-sessions", json={"customer_id": customer_id},
                                    headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 201
    yield answer.get_json()["url"], customer_id


def check_axe(frame, axe_source, where):
    violations = run_axe(frame, axe_source)
    assert not violations, describe_violations(violations, where)


def go(frame, link_text):
    with frame.expect_navigation():
        frame.locator(".portal-nav").get_by_role("link", name=link_text, exact=True).click()


def submit(frame, button_text):
    with frame.expect_navigation():
        frame.get_by_role("button", name=button_text).click()


def test_a_customer_manages_the_contract_inside_the_merchants_page(app, page, shop, portal_url, axe_source):
    url, customer_id = portal_url
    page.goto(shop(f'<div id="portal" data-widget="portal" data-url="{url}" data-lang="en"></div>'
                   '<script async src="SERVICE/embed.js"></script>'))
    page.locator('#events li[data-event="loaded"][data-target="portal"]').first.wait_for()
    frame = page.locator("#portal iframe").element_handle().content_frame()
    frame.get_by_role("heading", name="Your customer account").wait_for()
    check_axe(frame, axe_source, "the overview")

    go(frame, "Your details")
    frame.fill("#f-city", "Hamburg")
    submit(frame, "Save changes")
    assert frame.get_by_text("Your changes have been saved.").is_visible()
    check_axe(frame, axe_source, "the profile")

    go(frame, "Payment method")
    frame.check("#pm-sepa")
    frame.fill("#f-account_holder", "Anna Berg")
    frame.fill("#f-iban", VALID_IBAN)
    frame.check("#f-sepa_mandate")
    submit(frame, "Save payment method")
    check_axe(frame, axe_source, "the payment method page")

    go(frame, "Invoices")
    check_axe(frame, axe_source, "the invoices")
    with page.expect_download() as download:
        frame.get_by_role("link", name="PDF").first.click()
    assert download.value.suggested_filename.startswith("DEMO-") and download.value.suggested_filename.endswith(".pdf")

    go(frame, "Change plan")
    with frame.expect_navigation():
        frame.get_by_role("link", name="Preview the switch to Basic").click()
    check_axe(frame, axe_source, "the plan change preview")
    submit(frame, "Confirm the switch to Basic")
    page.locator('#events li[data-event="contract-changed"]').first.wait_for()

    go(frame, "Pause")
    submit(frame, "Pause")
    check_axe(frame, axe_source, "the pause page")
    submit(frame, "Call off the pause")

    go(frame, "Cancel contract")
    frame.check("#reason-too_expensive")
    submit(frame, "Continue")
    check_axe(frame, axe_source, "the retention offers")
    with frame.expect_navigation():
        frame.get_by_role("button", name="Accept this offer").first.click()
    assert frame.get_by_text("Thank you for staying with us.").is_visible()

    with app.app_context():
        customer = db.session.scalar(select(Customer).where(Customer.public_id == customer_id))
        contract = db.session.scalar(select(Contract).where(Contract.customer_id == customer.id))
        method = db.session.scalar(select(PaymentMethod).where(PaymentMethod.customer_id == customer.id,
                                                               PaymentMethod.is_default.is_(True)))
        discounts = db.session.scalars(select(ContractDiscount).where(ContractDiscount.contract_id == contract.id)).all()
    assert customer.fields["city"] == "Hamburg"
    assert method.kind == "sepa" and method.mandate_reference
    assert contract.scheduled_plan_id == "basic" and contract.status == "active" and contract.pause_from is None
    assert [d.percent for d in discounts] == [50]
