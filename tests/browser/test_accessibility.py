"""axe-core, run inside the sign-up iframe on every page of the flow, finds no violation.

axe does not cross into a cross-site frame by itself, so its source (as shipped in the
axe-playwright-python package) is evaluated in the frame and run on the frame's document.
"""
import pytest

from .steps import ANNA, choose_payment, describe_violations, fill_details, open_merchant, run_axe, submit, wait_for_event

pytestmark = pytest.mark.browser


def check(frame, axe_source, found: dict, where: str) -> None:
    violations = run_axe(frame, axe_source)
    if violations:
        found[where] = describe_violations(violations, f"{where} ({frame.url})")


def test_no_axe_violations_through_the_embedded_flow(page, merchant, axe_source):
    """Plan choice, form, form with validation errors, confirmation: one walk, every page checked."""
    found = {}
    _, frame = open_merchant(page, merchant, lang="de")
    check(frame, axe_source, found, "plan choice")

    with frame.expect_navigation():
        frame.click("#choose-basic")
    check(frame, axe_source, found, "form")

    frame.fill("#f-first_name", "Anna")
    frame.fill("#f-email", "not-an-address")
    frame.check('input[name="payment_method"][value="sepa"]')  # so the SEPA fields are shown and checked too
    frame.fill("#f-iban", "DE00")
    submit(frame)
    assert frame.locator("#error-summary").is_visible()
    check(frame, axe_source, found, "form with validation errors")

    fill_details(frame, ANNA)
    choose_payment(frame, "sepa", holder="Anna Berg")
    frame.check("#f-consent")
    submit(frame)
    wait_for_event(page, "signup-completed")
    check(frame, axe_source, found, "confirmation")

    assert not found, "\n\n".join(found.values())


def fjord_form(page, merchant):
    frame = open_merchant(page, merchant, tenant="fjord", plan="mellan", lang="sv")[1]
    assert frame.locator("#f-grind").count() == 1
    return frame


def unknown_plan(page, merchant):
    frame = open_merchant(page, merchant, lang="sv", plan="no-such-plan")[1]
    assert frame.locator(".error-page").count() == 1
    return frame


def fjord_form_in_english(page, merchant):
    """fjord speaks Swedish only: a notice says the wanted language is not available."""
    frame = open_merchant(page, merchant, tenant="fjord", plan="mellan", lang="en")[1]
    assert frame.locator(".notice").count() == 1
    return frame


PAGES = [fjord_form, fjord_form_in_english, unknown_plan]


@pytest.mark.parametrize("reach", PAGES, ids=[p.__name__ for p in PAGES])
def test_no_axe_violations_inside_the_frame(page, merchant, axe_source, reach):
    frame = reach(page, merchant)
    violations = run_axe(frame, axe_source)
    assert not violations, describe_violations(violations, frame.url)
