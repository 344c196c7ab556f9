"""Service-level routes and configuration."""
import gzip
import re

import pytest

from widget_server import create_app
from widget_server.config import ConfigError


def test_healthz_reports_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_reports_an_unreachable_database(app):
    broken = create_app({"TESTING": True, "DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none"})
    response = broken.test_client().get("/healthz")
    assert response.status_code == 503 and response.get_json()["database"] == "unavailable"


def test_embed_script_is_served_with_short_caching(client):
    response = client.get("/embed.js")
    assert response.status_code == 200 and response.mimetype == "text/javascript"
    assert "max-age=300" in response.headers["Cache-Control"]
    assert "data-widget" in response.get_data(as_text=True)
    again = client.get("/embed.js", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_embed_script_has_a_versioned_url_cached_for_a_year_and_stays_small(client):
    latest = client.get("/embed.js")
    versioned_url = re.fullmatch(r'<(/embed\.[0-9a-f]{12}\.js)>; rel="canonical"', latest.headers["Link"]).group(1)
    pinned = client.get(versioned_url)
    assert pinned.status_code == 200 and pinned.data == latest.data
    assert pinned.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert client.get("/embed.000000000000.js").status_code == 404  # an old version is not served as the new one
    assert len(gzip.compress(latest.data, 9)) <= 4096  # the brief: at most 4 KB gzipped


def test_the_cookie_probe_tells_whether_its_cookie_came_back(client):
    assert client.get("/embed/cookie-probe?check=1").get_json() == {"stored": False}
    first = client.get("/embed/cookie-probe")
    assert first.status_code == 204 and first.headers["Cache-Control"] == "no-store"
    cookie = first.headers["Set-Cookie"]
    assert cookie.startswith("__Host-widget_probe=1") and "Secure" in cookie and "SameSite=None" in cookie \
        and "Partitioned" in cookie
    assert client.get("/embed/cookie-probe?check=1").get_json() == {"stored": True}


@pytest.mark.parametrize("environ,message", [
    ({"WIDGET_ENV": "production"}, "WIDGET_SECRET_KEY"),
    ({"WIDGET_ENV": "production", "WIDGET_SECRET_KEY": "short"}, "WIDGET_SECRET_KEY"),
    ({"WIDGET_ENV": "production", "WIDGET_SECRET_KEY": "x" * 40, "WIDGET_PUBLIC_URL": "http://shop.example"}, "https://"),
])
def test_production_refuses_unsafe_settings(monkeypatch, environ, message):
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError, match=message):
        create_app()


def test_production_starts_with_safe_settings(monkeypatch):
    monkeypatch.setenv("WIDGET_ENV", "production")
    monkeypatch.setenv("WIDGET_SECRET_KEY", "x" * 40)
    monkeypatch.setenv("WIDGET_PUBLIC_URL", "https://widgets.example")
    assert create_app().config["WIDGET_PUBLIC_URL"] == "https://widgets.example"


def test_database_url_forms_are_normalized(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://u@db/x")
    assert create_app().config["DATABASE_URL"] == "postgresql+psycopg://u@db/x"


def test_unknown_url_is_a_friendly_404(client):
    response = client.get("/nothing-here")
    assert response.status_code == 404 and "Page not found" in response.get_data(as_text=True)


def test_unknown_api_url_is_problem_json(client):
    response = client.get("/api/v1/nothing")
    assert response.status_code in (401, 404)
    assert response.mimetype == "application/problem+json"
