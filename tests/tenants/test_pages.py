"""Tenant pages over HTTP: themed CSS, logo, error page of a broken theme."""
import re

from tests.tenants.test_loader import edit


def stylesheet_url(page: str) -> str:
    return re.search(r'<link rel="stylesheet" href="([^"]+)"', page).group(1)


def test_stylesheet_has_content_hash_url_and_long_caching(client):
    page = client.get("/t/demo/signup").get_data(as_text=True)
    url = stylesheet_url(page)
    assert re.fullmatch(r"/t/demo/theme-[0-9a-f]{16}\.css", url)
    css = client.get(url)
    assert css.status_code == 200 and css.mimetype == "text/css"
    assert "immutable" in css.headers["Cache-Control"] and "max-age=31536000" in css.headers["Cache-Control"]
    assert "--primary:#6d28d9" in css.get_data(as_text=True)
    assert '--font:"Trebuchet MS"' in css.get_data(as_text=True)


def test_tenants_really_differ(client):
    demo = client.get(stylesheet_url(client.get("/t/demo/signup").get_data(as_text=True))).get_data(as_text=True)
    fjord = client.get(stylesheet_url(client.get("/t/fjord/signup").get_data(as_text=True))).get_data(as_text=True)
    assert "--primary:#6d28d9" in demo and "--primary:#0f766e" in fjord
    assert '"Georgia"' in fjord


def test_designer_edit_shows_on_reload(client, themes_dir):
    first = stylesheet_url(client.get("/t/demo/signup").get_data(as_text=True))
    edit(themes_dir / "demo" / "theme.toml", 'primary = "#6d28d9"', 'primary = "#1e40af"')
    page = client.get("/t/demo/signup").get_data(as_text=True)
    second = stylesheet_url(page)
    assert second != first
    assert "--primary:#1e40af" in client.get(second).get_data(as_text=True)
    # an old URL leads to the current stylesheet instead of a stale one
    assert client.get(first).headers["Location"].endswith(second)


def test_texts_and_fields_from_the_theme_change_the_page(client, themes_dir):
    edit(themes_dir / "demo" / "theme.toml", 'signup_title = "Join Acme Fitness"', 'signup_title = "Become a member"')
    assert "Become a member" in client.get("/t/demo/signup?lang=en").get_data(as_text=True)


def test_logo_is_served_from_the_theme_folder_and_nothing_else(client):
    logo = client.get("/t/demo/assets/logo.svg")
    assert logo.status_code == 200 and logo.mimetype == "image/svg+xml"
    assert "sandbox" in logo.headers["Content-Security-Policy"]
    for other in ("theme.toml", "../fjord/theme.toml", "custom.css"):
        assert client.get(f"/t/demo/assets/{other}").status_code == 404


def test_broken_theme_answers_with_an_error_page_and_others_keep_serving(client, themes_dir):
    edit(themes_dir / "demo" / "theme.toml", 'primary = "#6d28d9"', 'primary = "purple"')
    broken = client.get("/t/demo/signup")
    assert broken.status_code == 503
    text = broken.get_data(as_text=True)
    assert "Temporarily unavailable" in text and "brand.colors.primary" in text
    assert client.get("/t/fjord/signup").status_code == 200


def test_theme_errors_are_hidden_in_production_pages(app, client, themes_dir):
    app.config["WIDGET_SHOW_THEME_ERRORS"] = False
    edit(themes_dir / "demo" / "theme.toml", 'primary = "#6d28d9"', 'primary = "purple"')
    text = client.get("/t/demo/signup").get_data(as_text=True)
    assert "brand.colors.primary" not in text and "Temporarily unavailable" in text


def test_unknown_tenant_is_a_404_page(client):
    response = client.get("/t/nobody/signup")
    assert response.status_code == 404 and "no such shop" in response.get_data(as_text=True)
