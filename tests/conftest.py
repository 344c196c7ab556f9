"""Shared fixtures: a migrated database (SQLite, or PostgreSQL when DATABASE_URL says so),
a copy of the theme files per test, the app and its clients."""
import os
import re
import shutil
from datetime import date
from html import unescape

import pytest
from sqlalchemy import create_engine, text

from widget_server import create_app
from widget_server.billing.contracts import PaymentChoice, start_contract
from widget_server.extensions import db
from widget_server.paths import THEMES
from widget_server.storage.base import Base
from widget_server.storage.migrate import upgrade

TEST_SECRET = "test-secret-key-that-is-long-enough-to-pass-checks"


def _reset_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        url = url.replace("postgresql://", "postgresql+psycopg://", 1) if "+psycopg" not in url else url
        _reset_postgres(url)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    upgrade(url)
    yield url


@pytest.fixture
def themes_dir(tmp_path):
    """A private copy of themes/, so a test may break a theme without touching the others."""
    target = tmp_path / "themes"
    shutil.copytree(THEMES, target)
    yield target


@pytest.fixture
def app(database_url, themes_dir, tmp_path):
    app = create_app({
        "TESTING": True,
        "DATABASE_URL": database_url,
        "SECRET_KEY": TEST_SECRET,
        "WIDGET_THEMES_DIR": str(themes_dir),
        "WIDGET_PUBLIC_URL": "http://127.0.0.1:8000",
        "WIDGET_PDF_CACHE_DIR": str(tmp_path / "invoice-pdfs"),
        "WIDGET_THEME_RELOAD_SECONDS": 0,  # tests edit theme files and look at once
    })
    yield app
    _empty_tables(app)


def _empty_tables(app) -> None:
    engine = app.extensions["database"]
    tables = [t.name for t in Base.metadata.sorted_tables]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in reversed(tables):
                conn.execute(text(f"DELETE FROM {name}"))
    engine.dispose()


@pytest.fixture
def client(app):
    yield app.test_client()


@pytest.fixture
def session(app):
    """The app's database session inside an app context."""
    with app.app_context():
        yield db.session


def hidden_inputs(html: str) -> dict:
    """Values of the hidden inputs of a page (csrf_token, submission, prefill)."""
    return {unescape(name): unescape(value) for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html)}


VALID_SIGNUP = {
    "first_name": "Anna", "last_name": "Berg", "email": "anna@example.com", "street": "Weg 1",
    "postal_code": "12345", "city": "Berlin", "country": "DE", "payment_method": "invoice", "consent": "1",
}


@pytest.fixture
def signup_form(client):
    """GET a sign-up form and return (url, form data with its hidden inputs and valid answers)."""

    def fetch(tenant="demo", plan="basic", query="", **overrides):
        url = f"/t/{tenant}/signup/{plan}{query}"
        page = client.get(url)
        assert page.status_code == 200, page.data[:500]
        data = {**VALID_SIGNUP, **hidden_inputs(page.get_data(as_text=True)), **overrides}
        return url, {k: v for k, v in data.items() if v is not None}

    yield fetch


# Contracts signed up in code, for billing, payment, document and notification tests.
SIGNUP_FIELDS = {"first_name": "Anna", "last_name": "Berg", "email": "anna@example.com", "country": "DE"}


@pytest.fixture
def tenants(app):
    """slug -> Tenant, from the test's theme files."""
    registry = app.extensions["widget_themes"]
    yield lambda slug: registry.get(slug)


@pytest.fixture
def sign_up(session, tenants):
    def make(plan_id="pro", on=date(2026, 1, 31), tenant="demo", fields=None, key=None, payment=None):
        t = tenants(tenant)
        contract = start_contract(session, tenant=tenant, plan=t.plan(plan_id), email="anna@example.com", locale="de",
                                  fields=fields or SIGNUP_FIELDS, payment=payment or PaymentChoice(kind="invoice"),
                                  signup_key=key or f"k{on.isoformat()}{plan_id}{tenant}", today=on)
        session.commit()
        return contract
    yield make


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """A Redis server, as a URL without a database number: the one on 127.0.0.1:6379 if it answers,
    else one started for these tests (`redis-server`, which .ci/system-deps installs)."""
    import shutil
    import socket
    import subprocess
    import time

    import redis
    try:
        redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1).ping()
        yield "redis://127.0.0.1:6379"
        return
    except redis.exceptions.ConnectionError:
        pass
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("no Redis on 127.0.0.1:6379 and no redis-server to start (apt-get install redis-server)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                "--dir", str(tmp_path_factory.mktemp("redis"))],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(host="127.0.0.1", port=port)
    for _ in range(50):
        try:
            client.ping()
            break
        except redis.exceptions.ConnectionError:
            time.sleep(0.1)
    yield f"redis://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=10)
