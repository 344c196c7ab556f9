"""Security headers: framing only on the embed routes, and only by allowlisted origins."""


def csp(response) -> dict:
    return {part.split()[0]: part.split()[1:] for part in response.headers["Content-Security-Policy"].split("; ")}


def test_signup_pages_may_be_framed_by_the_allowlist_only(client):
    for url in ("/t/demo/signup", "/t/demo/signup/basic", "/t/demo/signup/nope"):
        response = client.get(url)
        assert csp(response)["frame-ancestors"] == ["'self'", "http://127.0.0.1:*", "http://localhost:*"], url
        assert "X-Frame-Options" not in response.headers
    assert csp(client.get("/t/fjord/signup"))["frame-ancestors"] == ["'self'", "https://fjordkaffe.example", "http://localhost:*"]


def test_error_pages_of_embed_routes_stay_frameable(client):
    """A failed CSRF check inside the iframe must show its page, not a refused frame."""
    response = client.post("/t/demo/signup/basic", data={"first_name": "x"})
    assert response.status_code == 400
    assert "http://localhost:*" in csp(response)["frame-ancestors"]


def test_everything_else_refuses_framing(client):
    for url in ("/healthz", "/embed.js", "/api/v1/openapi.json", "/t/nobody/signup", "/nothing-here", "/t/demo/assets/logo.svg"):
        response = client.get(url)
        assert "'none'" in response.headers["Content-Security-Policy"], url
        assert response.headers["X-Frame-Options"] == "DENY", url


def test_inline_script_or_style_only_with_the_responses_nonce(client):
    """More in test_csp_nonce.py: every page, the nonce on inline elements, page caches."""
    policy = csp(client.get("/t/demo/signup/basic"))
    [nonce] = [source for source in policy["script-src"] if source.startswith("'nonce-")]
    assert policy["script-src"] == ["'self'", nonce] and policy["style-src"] == ["'self'", nonce]
    assert policy["default-src"] == ["'none'"]
    assert csp(client.get("/t/demo/signup/basic"))["script-src"] != policy["script-src"]  # fresh per response
    page = client.get("/t/demo/signup/basic").get_data(as_text=True)
    assert "<script>" not in page and " style=" not in page and "<style" not in page


def test_common_headers(client):
    response = client.get("/t/demo/signup")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "Strict-Transport-Security" not in response.headers
    secure = client.get("/t/demo/signup", base_url="https://widgets.example")
    assert "max-age" in secure.headers["Strict-Transport-Security"]


def test_session_cookie_works_inside_a_cross_site_frame(client):
    response = client.get("/t/demo/signup/basic")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("__Host-widget_session=")
    for attribute in ("Secure", "HttpOnly", "SameSite=None", "Partitioned", "Path=/"):
        assert attribute in cookie
    assert "Domain" not in cookie


def test_embed_origin_is_echoed_only_when_allowlisted(client):
    allowed = client.get("/t/demo/signup?embed=http://localhost:8001").get_data(as_text=True)
    assert 'data-parent-origin="http://localhost:8001"' in allowed
    refused = client.get("/t/demo/signup?embed=https://evil.example").get_data(as_text=True)
    assert "data-parent-origin" not in refused
    tricky = client.get("/t/demo/signup?embed=http://localhost:8001.evil.example").get_data(as_text=True)
    assert "data-parent-origin" not in tricky


def test_embed_origin_follows_the_visitor_through_the_flow(client):
    page = client.get("/t/demo/signup?embed=http://localhost:8001&lang=de").get_data(as_text=True)
    assert "/t/demo/signup/basic?lang=de&amp;embed=http://localhost:8001" in page or \
        "/t/demo/signup/basic?lang=de&amp;embed=http%3A%2F%2Flocalhost%3A8001" in page
