"""The portal embedded in a browser that refuses our cookie inside the merchant's frame: the one-time link is
used up in the frame, the frame offers "Continue in a new tab", the host page gets widget:fallback, and the
new tab opens the page the link asked for, signed in. With the cookie kept, nothing of this shows."""
import http.client
import json
from urllib.parse import urlsplit

import pytest

from tests.api.conftest import create_key

from .steps import describe_violations, fallback_link, run_axe
from .test_portal_embedded import portal_url  # noqa: F401

pytestmark = pytest.mark.browser

# Dropped from the answers we pass on: what the browser does with them is what we are simulating.
HOP_BY_HOP = {"set-cookie", "transfer-encoding", "connection", "keep-alive"}


def refuse_third_party_cookies(page, service) -> None:
    """As in a browser that refuses our cookies under the merchant's site (partitioned or not): every request
    the merchant's page and its frames make to the service goes without cookies, and Set-Cookie headers are
    dropped. Other pages (the new tab, top-level on the service's own site) keep their cookies as usual."""
    host = urlsplit(service.url)

    def handle(route):
        request = route.request
        target = urlsplit(request.url)
        connection = http.client.HTTPConnection(host.hostname, host.port, timeout=10)
        try:
            # request.headers leaves out the cookie header: nothing of the browser's cookie store goes along.
            connection.request(request.method, target.path + (f"?{target.query}" if target.query else ""),
                               body=request.post_data_buffer, headers=request.headers)
            answer = connection.getresponse()
            headers = {k: v for k, v in answer.getheaders() if k.lower() not in HOP_BY_HOP}
            route.fulfill(status=answer.status, headers=headers, body=answer.read())
        finally:
            connection.close()

    page.route(f"{service.url}/**", handle)


def portal_link(app, customer_id: str, **body) -> str:
    key = create_key(app, "demo")
    answer = app.test_client().post("/api/v1/portal-sessions", json={"customer_id": customer_id, **body},
                                    headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()["url"]


def test_a_refused_cookie_continues_the_portal_in_a_new_tab(app, page, context, shop, service, portal_url, axe_source):
    _url, customer_id = portal_url
    refuse_third_party_cookies(page, service)
    url = portal_link(app, customer_id, flow="profile", locale="de")
    page.goto(shop(f'<div id="portal" data-widget="portal" data-url="{url}" data-lang="de"></div>'
                   '<script async src="SERVICE/embed.js"></script>'))
    frame, link, href = fallback_link(page, "portal")
    assert href.startswith(f"{service.url}/t/demo/portal/enter/resume?") and "embed=" not in href and "lang=de" in href
    [detail] = page.locator('#events li[data-event="fallback"]').all_inner_texts()
    assert json.loads(detail) == {"url": href}  # the host page may open the same tab itself
    assert frame.locator("#widget-fallback-notice").count() == 1  # frame.js's own probe added no second notice
    violations = run_axe(frame, axe_source)
    assert not violations, describe_violations(violations, "the portal's fallback page in the frame")

    with context.expect_page() as opened:
        link.click()
    tab = opened.value
    tab.wait_for_load_state()
    assert urlsplit(tab.url).path == "/t/demo/portal/profile" and "lang=de" in tab.url
    tab.get_by_role("heading", name="Ihre Angaben").wait_for()
    assert tab.locator("#f-city").is_visible()  # signed in: the customer's own details
    violations = run_axe(tab.main_frame, axe_source)
    assert not violations, describe_violations(violations, "the portal page in the new tab")

    tab.goto(href)  # the hand-off worked once
    assert tab.get_by_text("Dieser Link wurde bereits verwendet.", exact=False).is_visible()


def test_with_the_cookie_kept_the_frame_opens_the_page(app, page, shop, portal_url):
    _url, customer_id = portal_url
    url = portal_link(app, customer_id, flow="profile", locale="en")
    page.goto(shop(f'<div id="portal" data-widget="portal" data-url="{url}" data-lang="en"></div>'
                   '<script async src="SERVICE/embed.js"></script>'))
    frame = page.locator("#portal iframe").element_handle().content_frame()
    frame.get_by_role("heading", name="Your details").wait_for()
    assert urlsplit(frame.url).path == "/t/demo/portal/profile"
    page.wait_for_load_state("networkidle")
    assert page.locator('#events li[data-event="fallback"]').count() == 0
