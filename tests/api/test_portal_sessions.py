"""POST /api/v1/portal-sessions: one-time links into the portal, checked against the OpenAPI document."""
from datetime import datetime, timezone
from urllib.parse import urlsplit

import pytest


def test_link_for_a_customer(api, signed_up):
    customer_id = api.get(f"/api/v1/contracts/{signed_up(plan='pro')}").get_json()["customer_id"]
    response = api.post("/api/v1/portal-sessions", json={"customer_id": customer_id, "locale": "de", "flow": "invoices",
                                                         "return_url": "http://localhost:8001/account"})
    assert response.status_code == 201
    body = response.get_json()
    parts = urlsplit(body["url"])
    assert f"{parts.scheme}://{parts.netloc}" == "http://127.0.0.1:8000" and parts.path == "/t/demo/portal/enter"
    assert body["id"].startswith("ps_")
    seconds = (datetime.fromisoformat(body["expires_at"]) - datetime.now(timezone.utc)).total_seconds()
    assert 590 <= seconds <= 600


@pytest.mark.parametrize("change,field", [
    ({"customer_id": "cus_nobody"}, "customer_id"), ({"locale": "fr"}, "locale"), ({"flow": "delete_everything"}, "flow"),
    ({"return_url": "https://evil.example/phish"}, "return_url"), ({"return_url": "javascript:alert(1)"}, "return_url"),
])
def test_bad_requests(api, signed_up, change, field):
    customer_id = api.get(f"/api/v1/contracts/{signed_up(plan='pro')}").get_json()["customer_id"]
    response = api.post("/api/v1/portal-sessions", json={"customer_id": customer_id, **change})
    assert response.status_code == 422 and field in response.get_json()["errors"]


def test_another_tenants_customer_is_unknown(fjord_api, api, signed_up):
    customer_id = api.get(f"/api/v1/contracts/{signed_up(plan='pro')}").get_json()["customer_id"]
    response = fjord_api.post("/api/v1/portal-sessions", json={"customer_id": customer_id})
    assert response.status_code == 422 and "customer_id" in response.get_json()["errors"]
