"""The embed script in a real Chromium: the modal mode, calls queued before the script loaded,
the fallback when the browser refuses our cookie inside the frame, and two tenants on one page."""
import pytest
from .steps import describe_violations, fallback_link, run_axe

pytestmark = pytest.mark.browser

FOCUS_IN_DIALOG = "() => { const d = document.querySelector('dialog[open]'); return !!d && d.contains(document.activeElement); }"


def dialog_has_focus(page) -> bool:
    """Focus settles inside the dialog. Moving between the page and the cross-site frame (another process)
    passes through <body> for a moment, so wait for it to settle rather than sample one instant."""
    try:
        page.wait_for_function(FOCUS_IN_DIALOG, timeout=3000)
        return True
    except Exception:
        return False


def test_modal_opens_on_click_traps_focus_and_returns_it(page, shop, axe_source):
    page.goto(shop('<p><a href="#x">before</a></p><button id="join" data-widget="signup" data-mode="modal" '
                   'data-tenant="demo" data-plan="basic" data-lang="de">Mitglied werden</button>'
                   '<p><a href="#y">after</a></p><script async src="SERVICE/embed.js"></script>'))
    page.click("#join")
    page.locator('#events li[data-event="loaded"][data-target="join"]').wait_for()
    dialog = page.locator("dialog[open]")
    assert dialog.get_attribute("aria-label") == "Anmeldung"
    assert dialog.locator("button").get_attribute("aria-label") == "Schließen"
    assert dialog_has_focus(page)
    for _ in range(12):  # through the form inside the frame, and around
        page.keyboard.press("Tab")
        assert dialog_has_focus(page), page.evaluate("() => document.activeElement.outerHTML.slice(0, 120)")
    frame = dialog.locator("iframe").element_handle().content_frame()
    violations = run_axe(frame, axe_source)
    assert not violations, describe_violations(violations, "the sign-up page in the modal")

    frame.locator("input").first.focus()
    # Pressed inside the frame: the frame asks the page to close. Key down and up are sent apart, so the
    # key-up never goes to a frame the page is removing (Chromium then never acknowledges it, and
    # Playwright's press waited for that forever now and then).
    page.keyboard.down("Escape")
    page.locator("dialog").wait_for(state="detached")
    page.keyboard.up("Escape")
    assert page.evaluate("() => document.activeElement.id") == "join"
    assert page.locator('#events li[data-event="close"][data-target="join"]').count() == 1

    page.click("#join")
    page.locator("dialog[open] iframe").wait_for()
    page.click("dialog[open] > button")
    page.locator("dialog").wait_for(state="detached")
    assert page.evaluate("() => document.activeElement.id") == "join"


def test_calls_made_before_the_script_loaded_are_replayed(page, shop, service):
    page.goto(shop('<script>window.Widget = window.Widget || function () { (Widget.q = Widget.q || []).push(arguments); };'
                   'Widget("open", {type: "signup", tenant: "fjord", lang: "sv"});</script>'
                   '<script async src="SERVICE/embed.js"></script>'))
    page.locator('#events li[data-event="loaded"]').wait_for()
    frame = page.locator("dialog[open] iframe").element_handle().content_frame()
    assert frame.url.startswith(f"{service.url}/t/fjord/signup")
    assert page.locator("dialog[open]").get_attribute("aria-label") == "Registrering"
    page.evaluate("() => Widget.close()")
    page.locator("dialog").wait_for(state="detached")


def test_a_refused_cookie_offers_a_new_tab_at_the_same_step(page, context, shop, service):
    # As in a browser that refuses our cookie in the frame: the probe's cookie is never stored.
    context.route(f"{service.url}/embed/cookie-probe", lambda route: route.fulfill(status=204))
    page.goto(shop('<div id="signup" data-widget="signup" data-tenant="demo" data-plan="pro" data-lang="de"></div>'
                   '<script async src="SERVICE/embed.js"></script>'))
    _frame, link, href = fallback_link(page, "signup")
    assert href.startswith(f"{service.url}/t/demo/signup/pro?") and "embed=" not in href and "lang=de" in href
    context.unroute(f"{service.url}/embed/cookie-probe")
    with context.expect_page() as opened:
        link.click()
    tab = opened.value
    tab.wait_for_load_state()
    assert tab.url == href
    assert tab.locator("form.signup-form").is_visible()


def test_no_fallback_when_the_cookie_comes_back(page, shop):
    page.goto(shop('<div id="signup" data-widget="signup" data-tenant="demo" data-lang="en"></div>'
                   '<script async src="SERVICE/embed.js"></script>'))
    page.locator('#events li[data-event="loaded"]').wait_for()
    page.wait_for_load_state("networkidle")
    assert page.locator('#events li[data-event="fallback"]').count() == 0


def test_two_tenants_on_one_page(page, shop, service):
    page.goto(shop('<div id="a" data-widget="signup" data-tenant="demo" data-lang="da"></div>'
                   '<div id="b" data-widget="signup" data-tenant="fjord" data-lang="sv"></div>'
                   '<script async src="SERVICE/embed.js"></script>'))
    for target, tenant in (("a", "demo"), ("b", "fjord")):
        page.locator(f'#events li[data-event="loaded"][data-target="{target}"]').wait_for()
        frame = page.locator(f"#{target} iframe").element_handle().content_frame()
        assert frame.url.startswith(f"{service.url}/t/{tenant}/signup")
    page.wait_for_function("() => ['a', 'b'].every(id => document.querySelector('#' + id + ' iframe').style.height !== '600px')")
    heights = page.evaluate("() => ['a', 'b'].map(id => document.querySelector('#' + id + ' iframe').getBoundingClientRect().height)")
    inner = [page.locator(f"#{t} iframe").element_handle().content_frame().evaluate(
        "() => document.documentElement.getBoundingClientRect().height") for t in ("a", "b")]
    assert all(abs(h - i) <= 3 for h, i in zip(heights, inner)), (heights, inner)
    assert page.locator('#events li[data-event="loaded"][data-target="a"]').count() == 1
    assert page.locator('#events li[data-event="loaded"][data-target="b"]').count() == 1
