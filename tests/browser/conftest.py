"""End-to-end fixtures: the real app behind a real threaded WSGI server, a merchant page on
another site, and Debian's Chromium driven by Playwright (sync API).

The service runs on http://127.0.0.1:<port> and the merchant page on
http://localhost:<port>: two different sites, so the sign-up iframe is cross-site
exactly as on a real shop (partitioned cookies, frame-ancestors, postMessage origins).

Chromium is required: without /usr/bin/chromium (or WIDGET_TEST_CHROMIUM, for a Chromium
elsewhere) these tests fail, they never skip (CI must run them). `playwright install` is never
used: Playwright drives Debian's Chromium.
"""
import importlib.resources
import os
import threading
from dataclasses import dataclass

import pytest
from flask import Flask
from werkzeug.serving import make_server

from widget_server.demo_site import merchant_app

CHROMIUM = os.environ.get("WIDGET_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]
TIMEOUT_MS = 10_000


@dataclass
class Running:
    """A WSGI app served by a threaded server in a background thread."""
    url: str
    server: object
    thread: threading.Thread

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def serve(app, bind: str = "127.0.0.1", name: str | None = None) -> Running:
    """Serve `app` on a free port of `bind`; the URL uses `name` (e.g. localhost) when given.

    Like demo_site.start_in_thread, but polling for shutdown every 50 ms instead of 500 ms,
    which keeps the browser tests quick.
    """
    server = make_server(bind, 0, app, threaded=True)  # port 0: the OS picks a free port, no race
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    return Running(url=f"http://{name or bind}:{server.server_port}", server=server, thread=thread)


@pytest.fixture
def service(app):
    """The widget server (create_app over the migrated test database) on http://127.0.0.1:<free port>."""
    running = serve(app)
    app.config["WIDGET_PUBLIC_URL"] = running.url
    yield running
    running.stop()


@pytest.fixture
def merchant(service):
    """The demo merchant page, on another site: http://localhost:<another free port>."""
    running = serve(merchant_app(service.url), "127.0.0.1", name="localhost")
    yield running
    running.stop()


@pytest.fixture(scope="session")
def playwright_driver():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright_driver):
    if not os.path.exists(CHROMIUM):
        pytest.fail(
            f"Chromium is required for the browser tests but {CHROMIUM} does not exist: "
            "install Debian's package (`apt-get install chromium`, or `make system-deps`)", pytrace=False)
    browser = playwright_driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    yield browser
    browser.close()


@pytest.fixture
def context(browser):
    context = browser.new_context(locale="en-GB")
    context.set_default_timeout(TIMEOUT_MS)
    yield context
    context.close()


@pytest.fixture
def page(context):
    yield context.new_page()


@pytest.fixture
def no_js_page(browser):
    """A page in a browser context with JavaScript switched off."""
    context = browser.new_context(java_script_enabled=False, locale="en-GB")
    context.set_default_timeout(TIMEOUT_MS)
    yield context.new_page()
    context.close()


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core as shipped in the axe-playwright-python package."""
    return importlib.resources.files("axe_playwright_python").joinpath("axe.min.js").read_text(encoding="utf-8")


# A merchant site whose pages a test writes, logging the widget's events (test_embedding_sdk, test_portal_embedded).
EVENTS = """<ol id="events"></ol>
<script>
["loaded","close","fallback","resize","signup-completed","contract-changed"].forEach(function (name) {
  document.addEventListener("widget:" + name, function (event) {
    var li = document.createElement("li");
    li.setAttribute("data-event", name);
    li.setAttribute("data-target", event.target.id || event.target.tagName);
    li.textContent = JSON.stringify(event.detail);
    document.getElementById("events").appendChild(li);
  });
});
</script>"""


@pytest.fixture
def shop(service):
    """A merchant site on http://localhost:<port> whose pages the test writes: shop(body) -> URL."""
    pages = {}
    app = Flask("shop")

    @app.get("/<name>")
    def page(name):
        if name not in pages:
            return "", 404
        return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title></head>'
                f"<body><main><h1>Shop</h1>{pages[name]}{EVENTS}</main></body></html>")

    running = serve(app, "127.0.0.1", name="localhost")

    def add(body: str, name: str = "page") -> str:
        pages[name] = body.replace("SERVICE", service.url)
        return f"{running.url}/{name}"

    yield add
    running.stop()
