"""Only allowlisted merchant pages may frame the sign-up (CSP frame-ancestors, enforced by
Chromium), only the embed routes are frameable at all, and embed.js ignores messages that do
not come from the widget server's own frame."""
import pytest
from flask import Flask

from widget_server.demo_site import merchant_app

from .conftest import serve
from .steps import events, open_merchant

pytestmark = pytest.mark.browser


@pytest.fixture
def outsider_host():
    """A merchant-like page on a host no tenant allows: http://127.0.0.2:<port> (loopback, another site)."""
    running = []

    def start(app, bind="127.0.0.2"):
        running.append(serve(app, bind))
        return running[-1]

    yield start
    for server in running:
        server.stop()


def blocked_frame_messages(page) -> list[str]:
    return [m for m in page.console_messages if "frame-ancestors" in m]


def wait_for_refusal(page, timeout_ms: int = 5000) -> list[str]:
    """Chromium's console messages about a frame it refused (CSP frame-ancestors), waiting for one."""
    for _ in range(timeout_ms // 50):
        if blocked_frame_messages(page):
            break
        page.wait_for_timeout(50)
    refusals = blocked_frame_messages(page)
    assert refusals, f"Chromium did not refuse the frame; console: {page.console_messages}"
    return refusals


@pytest.fixture
def page(page):
    page.console_messages = []
    page.on("console", lambda message: page.console_messages.append(message.text))
    yield page


def assert_refused(page, service, expected_policy: str):
    iframe = page.locator("#signup iframe")
    iframe.wait_for(state="attached")
    page.wait_for_function("() => document.querySelector('#signup iframe').contentWindow !== null")
    # Chromium logs the refusal on the framing page and shows an error document instead of ours.
    refusals = wait_for_refusal(page)
    assert service.url in refusals[0] and expected_policy in refusals[0]
    frame = iframe.element_handle().content_frame()
    assert not frame.url.startswith(service.url), f"the sign-up was framed: {frame.url}"
    page.wait_for_timeout(300)  # give a framed page time to post its events, were it loaded
    assert events(page, "loaded") == [] and events(page, "resize") == []


def test_demo_cannot_be_framed_from_an_origin_off_its_allowlist(page, service, outsider_host):
    outsider = outsider_host(merchant_app(service.url))
    page.goto(f"{outsider.url}/?tenant=demo")
    assert_refused(page, service, "frame-ancestors 'self' http://127.0.0.1:* http://localhost:*")


def test_fjord_cannot_be_framed_from_another_port_of_our_host(page, service, outsider_host):
    """fjord allows https://fjordkaffe.example and http://localhost:*, not 127.0.0.1 ('self' is our port only)."""
    outsider = outsider_host(merchant_app(service.url), bind="127.0.0.1")
    page.goto(f"{outsider.url}/?tenant=fjord")
    assert_refused(page, service, "frame-ancestors 'self' https://fjordkaffe.example http://localhost:*")


def test_fjord_can_be_framed_from_its_allowlist(page, merchant):
    _, frame = open_merchant(page, merchant, tenant="fjord")
    assert frame.locator("#choose-mellan").is_visible()
    assert blocked_frame_messages(page) == []


def test_pages_other_than_the_embed_routes_cannot_be_framed_at_all(page, merchant, service):
    page.goto(merchant.url + "/")
    page.evaluate("""url => {
        const frame = document.createElement('iframe');
        frame.id = 'health';
        frame.src = url;
        document.body.appendChild(frame);
    }""", f"{service.url}/healthz")
    refused = wait_for_refusal(page)
    assert "frame-ancestors 'none'" in refused[0], refused
    assert not page.locator("#health").element_handle().content_frame().url.startswith(service.url)


FORGER = """<!doctype html><html lang="en"><head><title>forger</title></head><body><script>
var fake = [
  {source: "widget-server", type: "resize", height: 1234},
  {source: "widget-server", type: "event", name: "signup-completed", detail: {contract_id: "con_forged"}}
];
fake.forEach(function (m) { parent.postMessage(m, "*"); });
parent.postMessage({forger: "done"}, "*");
</script></body></html>"""


def forger_app() -> Flask:
    app = Flask("forger")
    app.get("/")(lambda: FORGER)
    return app


def test_embed_script_ignores_messages_from_other_origins(page, merchant, service, outsider_host):
    iframe, frame = open_merchant(page, merchant)
    height = iframe.evaluate("e => e.getBoundingClientRect().height")
    forger = outsider_host(forger_app())
    page.evaluate("""() => {
        window.forgerDone = false;
        addEventListener('message', e => { if (e.data && e.data.forger === 'done') window.forgerDone = true; });
        // The merchant page itself (another origin than the widget server) posts a fake event too.
        postMessage({source: 'widget-server', type: 'event', name: 'signup-completed', detail: {contract_id: 'con_self'}}, '*');
    }""")
    # The widget's own iframe is navigated to another origin which then posts fake messages:
    # the message comes from the right window but the wrong origin.
    iframe.evaluate("(e, url) => { e.src = url; }", forger.url + "/")
    page.wait_for_function("() => window.forgerDone === true")
    page.wait_for_timeout(100)
    assert events(page, "signup-completed") == []
    assert iframe.evaluate("e => e.getBoundingClientRect().height") == height
