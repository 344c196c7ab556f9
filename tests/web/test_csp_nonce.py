"""The CSP nonce on the pages we serve: a fresh one per response in script-src and style-src, on every
inline <script>/<style> that exists, none cached for the next visitor, nothing else inline."""
from datetime import date
from html.parser import HTMLParser

import pytest
from flask import Response, render_template_string

from tests.conftest import hidden_inputs
from tests.payments.fake_stripe import fake_stripe  # noqa: F401  (fixture)
from tests.portal.signing_in import csrf_of, customer, link_in, mail_app, sent_mails, signed_in  # noqa: F401
from tests.tenants.test_loader import edit
from widget_server import create_app
from widget_server.billing.run import bill_due
from widget_server.extensions import db
from widget_server.web.page_cache import PageCache


class Tags(HTMLParser):
    """Every start tag of a page with its attributes."""

    def __init__(self, html: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag


def directives(response) -> dict[str, list[str]]:
    return {part.split()[0]: part.split()[1:] for part in response.headers["Content-Security-Policy"].split("; ")}


def nonce_of(response) -> str:
    """The response's nonce, checked to be the same in script-src and style-src and not 'unsafe-inline'."""
    policy = directives(response)
    header = response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in header and "unsafe-eval" not in header and "strict-dynamic" not in header
    [script] = [source for source in policy["script-src"] if source.startswith("'nonce-")]
    [style] = [source for source in policy["style-src"] if source.startswith("'nonce-")]
    assert script == style and len(script) >= len("'nonce-'") + 22, header  # 16 random bytes, base64url
    return script.removeprefix("'nonce-").removesuffix("'")


def checked(app, response, status=200) -> str:
    """The nonce of an HTML page whose inline <script>/<style> all carry it, with no other inline code."""
    html = response.get_data(as_text=True)
    assert response.status_code == status, html[:500]
    assert response.mimetype == "text/html"
    nonce = nonce_of(response)
    assert app.extensions["csp_nonce_slot"] not in html  # the slot never reaches a browser
    for tag, attrs in Tags(html).tags:
        where = f"<{tag} {attrs}>"
        if tag in ("script", "style") and not attrs.get("src"):
            assert attrs.get("nonce") == nonce, where
        assert "style" not in attrs, where  # nonces do not cover style attributes
        assert not [name for name in attrs if name.startswith("on")], where  # nor event handlers
        for name in ("href", "src", "action", "formaction"):
            assert not (attrs.get(name) or "").strip().lower().startswith("javascript:"), where
    return nonce


@pytest.fixture
def seen():
    """Every nonce a test saw, to show that no two responses share one."""
    nonces: list[str] = []
    yield nonces
    assert nonces and len(set(nonces)) == len(nonces), nonces


def test_sign_up_pages(app, client, signup_form, seen):
    for url in ("/t/demo/signup", "/t/demo/signup?lang=de&embed=http://localhost:8001", "/t/fjord/signup",
                "/t/demo/signup/basic", "/t/demo/signup/basic", "/t/demo/signup/pro?lang=sv", "/t/fjord/signup/mellan"):
        seen.append(checked(app, client.get(url)))
    url, data = signup_form()
    seen.append(checked(app, client.post(url, data={**data, "email": "not an address", "iban": "x"}), 422))
    done = client.post(url, data=data)
    assert done.status_code == 303
    seen.append(checked(app, client.get(done.headers["Location"])))  # complete, with the customer's details


def test_the_cached_form_gets_a_new_nonce_per_visitor(app, client, seen):
    first, second = client.get("/t/demo/signup/basic"), app.test_client().get("/t/demo/signup/basic")
    seen += [checked(app, first), checked(app, second)]
    assert hidden_inputs(first.get_data(as_text=True))["csrf_token"] != hidden_inputs(second.get_data(as_text=True))["csrf_token"]


def test_error_pages(app, client, seen):
    for url, status in (("/t/demo/signup/nope", 404), ("/t/demo/signup/complete/nope", 404), ("/t/nobody/signup", 404),
                        ("/nothing-here", 404), ("/t/demo/portal/invoices/nope.pdf", 401)):
        seen.append(checked(app, client.get(url), status))
    seen.append(checked(app, client.post("/t/demo/signup/basic", data={"first_name": "x"}), 400))  # no CSRF token


def test_every_response_has_a_nonce_not_only_pages(client, seen):
    for url in ("/healthz", "/embed.js", "/api/v1/openapi.json", "/t/demo/signup/card-setup"):
        seen.append(nonce_of(client.get(url) if not url.endswith("card-setup") else client.post(url)))


def test_login_pages(mail_app, customer, seen):
    customer()
    browser = mail_app.test_client()
    seen.append(checked(mail_app, browser.get("/t/demo/login")))
    form = hidden_inputs(browser.get("/t/demo/login").get_data(as_text=True))
    seen.append(checked(mail_app, browser.post("/t/demo/login", data={**form, "email": "anna@example.com"})))
    [message] = sent_mails(mail_app)
    seen.append(checked(mail_app, browser.get(link_in(message))))  # the page with the sign-in button


def test_portal_pages(app, customer, seen):
    anna = customer()
    with app.app_context():
        bill_due(db.session, app.extensions["widget_themes"].get, date(2026, 2, 14))  # an invoice to list
        db.session.commit()
    browser = signed_in(app, anna)
    for path in ("", "invoices", "payment-method", "change-plan", "profile", "history", "pause", "cancel"):
        seen.append(checked(app, browser.get(f"/t/demo/portal/{path}")))
    errors = browser.post("/t/demo/portal/profile", data={"csrf_token": csrf_of(browser, "/t/demo/portal/profile"),
                                                          "email": "not an address"})
    seen.append(checked(app, errors, 422))
    signed_out = browser.post("/t/demo/portal/logout", data={"csrf_token": csrf_of(browser, "/t/demo/portal/")})
    seen.append(checked(app, signed_out))
    seen.append(checked(app, app.test_client().get("/t/demo/portal/"), 401))  # signed out: offered the sign-in


@pytest.fixture
def card_tenant(app, themes_dir, fake_stripe):  # noqa: F811
    edit(themes_dir / "demo" / "theme.toml", 'methods = ["invoice", "sepa"]', 'methods = ["invoice", "sepa", "card"]')
    app.config["WIDGET_STRIPE_JS_URL"] = fake_stripe.js_url
    yield fake_stripe


def test_stripe_card_pages_keep_the_nonce_and_stripes_origins(app, client, customer, card_tenant, seen):
    browser = signed_in(app, customer())
    for response in (client.get("/t/demo/signup/basic"), browser.get("/t/demo/portal/payment-method/card")):
        seen.append(checked(app, response))
        policy = directives(response)
        assert card_tenant.url in policy["script-src"] and "https://js.stripe.com" in policy["script-src"]
        assert card_tenant.url in policy["frame-src"] and "https://api.stripe.com" in policy["connect-src"]
        assert policy["style-src"] == ["'self'", f"'nonce-{seen[-1]}'"]


def test_csp_nonce_in_a_template_is_the_responses_even_from_a_page_cache(app, seen):
    """csp_nonce() renders a slot that every response fills, so a page cached across visitors is safe."""
    cache = PageCache()
    template = "<!doctype html><script nonce='{{ csp_nonce() }}'>1</script><style nonce='{{ csp_nonce() }}'>p{}</style>"

    def page():
        return cache.get(None, "page", lambda: render_template_string(template))

    app.add_url_rule("/nonce-test", "nonce_test", page)
    app.add_url_rule("/nonce-test.txt", "nonce_test_text", lambda: Response(page(), mimetype="text/plain"))
    client = app.test_client()
    for _ in range(2):  # rendered, then from the cache
        response = client.get("/nonce-test")
        seen.append(checked(app, response))
        assert response.get_data(as_text=True).count(f"nonce='{seen[-1]}'") == 2
    [(_, parts)] = cache._pages.values()
    cached = "".join(parts)
    assert app.extensions["csp_nonce_slot"] in cached and not any(nonce in cached for nonce in seen)
    text = client.get("/nonce-test.txt")  # any body in memory is filled, so the slot never leaves
    assert text.get_data(as_text=True).count(f"nonce='{nonce_of(text)}'") == 2


def test_the_slot_is_secret_per_key(app, database_url, themes_dir):
    other = create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "another-secret-key-long-enough-for-checks",
                        "WIDGET_THEMES_DIR": str(themes_dir)})
    slots = {app.extensions["csp_nonce_slot"], other.extensions["csp_nonce_slot"]}
    assert len(slots) == 2 and all(len(slot) == 32 for slot in slots)
