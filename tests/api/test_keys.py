"""API keys: created by the real CLI, shown once, stored only as a SHA-256 hash; bearer authentication."""
import hashlib
from datetime import datetime, timezone

import pytest
from sqlalchemy import select, text

from widget_server.cli import main as widget_server_cli
from widget_server.storage.models import ApiKey


def test_create_prints_the_key_alone_as_the_last_line_and_stores_only_its_hash(app, session):
    result = app.test_cli_runner().invoke(widget_server_cli, ["api-keys", "create", "demo"])
    assert result.exit_code == 0, result.output
    key = result.output.rstrip("\n").splitlines()[-1]
    assert key.startswith("wsk_") and len(key) >= 40 and key == key.strip()
    # On stdout the key is alone, so `KEY=$(widget-server api-keys create demo)` works (Click 8.2+ separates the streams).
    assert result.stdout.strip().splitlines()[-1] == key
    assert result.output.count(key) == 1

    stored = session.scalars(select(ApiKey)).all()
    assert len(stored) == 1 and stored[0].tenant == "demo"
    assert stored[0].key_hash == hashlib.sha256(key.encode()).hexdigest()
    with app.extensions["database"].connect() as conn:
        row = conn.execute(text("SELECT * FROM api_key")).one()
    assert not any(isinstance(value, str) and key in value for value in row)
    assert not any(isinstance(value, str) and key.removeprefix("wsk_")[:20] in value for value in row)


def test_every_key_is_new(app):
    runner = app.test_cli_runner()
    keys = {runner.invoke(widget_server_cli, ["api-keys", "create", "demo"]).output.strip().splitlines()[-1] for _ in range(3)}
    assert len(keys) == 3


def test_the_command_is_also_on_the_flask_cli(app, session):
    """CONTRACT: the CLI is also reachable as `flask --app widget_server ...` (that is app.cli)."""
    result = app.test_cli_runner().invoke(args=["api-keys", "create", "fjord"])
    assert result.exit_code == 0, result.output
    key = result.output.strip().splitlines()[-1]
    assert session.scalar(select(ApiKey.tenant).where(ApiKey.key_hash == hashlib.sha256(key.encode()).hexdigest())) == "fjord"


@pytest.mark.parametrize("tenant", ["nosuchshop", "../demo", "_default"])
def test_unknown_tenant_fails_with_a_clear_message(app, session, tenant):
    result = app.test_cli_runner().invoke(widget_server_cli, ["api-keys", "create", tenant])
    assert result.exit_code != 0
    assert "unknown tenant" in result.output and tenant in result.output
    assert isinstance(result.exception, SystemExit)  # a clean exit, not a crash
    assert "Traceback" not in result.output
    assert session.scalars(select(ApiKey)).all() == []


def test_a_created_key_works(api):
    response = api.get("/api/v1/customers")
    assert response.status_code == 200 and response.get_json() == {"data": []}


UNAUTHORIZED = [
    pytest.param({}, "Bearer", id="no header"),
    pytest.param({"Authorization": ""}, "Bearer", id="empty header"),
    pytest.param({"Authorization": "Bearer"}, "Bearer", id="scheme without key"),
    pytest.param({"Authorization": "Bearer    "}, "Bearer", id="blank key"),
    pytest.param({"Authorization": "Basic ZGVtbzpzZWNyZXQ="}, "Bearer", id="basic auth"),
    pytest.param({"Authorization": "wsk_abcdef"}, "Bearer", id="key without scheme"),
    pytest.param({"Authorization": "Bearer wsk_not-a-real-key"}, 'Bearer error="invalid_token"', id="wrong key"),
    pytest.param({"Authorization": "Bearer " + "x" * 5000}, 'Bearer error="invalid_token"', id="huge key"),
]


@pytest.mark.parametrize("headers, challenge", UNAUTHORIZED)
@pytest.mark.parametrize("method, path", [
    ("GET", "/api/v1/customers"), ("GET", "/api/v1/customers/cus_x"), ("GET", "/api/v1/contracts/con_x"),
    ("POST", "/api/v1/signup-links"),
])
def test_requests_without_a_valid_key_get_a_401_problem(anonymous_api, demo_key, headers, challenge, method, path):
    kwargs = {"json": {"plan": "basic"}} if method == "POST" else {}
    response = anonymous_api.request(method, path, headers=headers, **kwargs)
    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.headers["WWW-Authenticate"] == challenge
    problem = response.get_json()
    assert problem["status"] == 401 and problem["title"] == "Unauthorized" and problem["type"]
    assert "key" in problem["detail"].lower()


def test_a_revoked_key_is_refused(api, session, demo_key):
    assert api.get("/api/v1/customers").status_code == 200
    key = session.scalar(select(ApiKey))
    key.revoked_at = datetime.now(timezone.utc)
    session.commit()
    response = api.get("/api/v1/customers")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert api.post("/api/v1/signup-links", json={}).status_code == 401


def test_scheme_is_case_insensitive(anonymous_api, demo_key):
    assert anonymous_api.get("/api/v1/customers", headers={"Authorization": f"bearer {demo_key}"}).status_code == 200


def test_key_of_a_tenant_whose_theme_is_broken_gets_a_problem_not_a_crash(api, themes_dir):
    (themes_dir / "demo" / "theme.toml").write_text("[brand\nname = 'broken'\n")
    response = api.post("/api/v1/signup-links", json={})
    assert response.status_code == 503
    assert "theme" in response.get_json()["detail"]


def test_key_of_a_tenant_that_was_removed_gets_a_problem_not_a_crash(api, themes_dir):
    (themes_dir / "demo" / "theme.toml").unlink()
    response = api.post("/api/v1/signup-links", json={})
    assert response.status_code in (401, 403, 404)
