"""Idempotency-Key on POST /api/v1/signup-links."""
import json

import pytest
from sqlalchemy import func, select

from widget_server.storage.models import IdempotencyRecord

BODY = {"plan": "basic", "prefill": {"email": "anna@example.com", "first_name": "Anna"}, "locked": ["email"]}


def post(api, body=BODY, key="order-4711", **kwargs):
    headers = {"Idempotency-Key": key} if key is not None else {}
    return api.post("/api/v1/signup-links", json=body, headers=headers, **kwargs)


def test_same_key_and_body_replays_the_first_response(api):
    first = post(api)
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    again = post(api)
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()  # the same url (and token), the same expiry
    assert again.mimetype == "application/json"


def test_key_order_and_spacing_of_the_body_do_not_matter(api):
    first = post(api)
    reordered = json.dumps(dict(reversed(list(BODY.items()))), indent=4)
    again = api.post("/api/v1/signup-links", data=reordered, content_type="application/json",
                     headers={"Idempotency-Key": "order-4711"})
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["url"] == first.get_json()["url"]


def test_without_a_key_every_request_makes_a_new_link(api, monkeypatch):
    import itsdangerous
    stamps = iter(range(1_900_000_000, 1_900_000_100))
    monkeypatch.setattr(itsdangerous.TimestampSigner, "get_timestamp", lambda self: next(stamps))
    assert post(api, key=None).get_json()["url"] != post(api, key=None).get_json()["url"]


def test_same_key_with_another_body_is_a_422_problem(api):
    first = post(api)
    other = post(api, body={**BODY, "plan": "pro"})
    assert other.status_code == 422
    assert other.headers["Content-Type"] == "application/problem+json"
    problem = other.get_json()
    assert problem["type"].endswith("idempotency-key-reused") and "Idempotency-Key" in problem["detail"]
    assert "Idempotency-Key" in problem["errors"]
    assert first.get_json()["url"] not in other.get_data(as_text=True)


def test_keys_are_per_tenant(api, fjord_api):
    demo = post(api)
    fjord = post(fjord_api, body={"plan": "mellan"})  # the same key, another tenant: no clash, no replay
    assert fjord.status_code == 201 and "Idempotent-Replayed" not in fjord.headers
    assert "/t/fjord/" in fjord.get_json()["url"]
    fjord_same_body = post(fjord_api, key="another-key")  # demo's body is simply invalid for fjord
    assert fjord_same_body.status_code == 422
    assert post(api).get_json() == demo.get_json()


def test_failed_requests_are_not_remembered(api, session):
    bad = post(api, body={**BODY, "plan": "platinum"})
    assert bad.status_code == 422
    assert session.scalar(select(func.count()).select_from(IdempotencyRecord)) == 0
    fixed = post(api, key="retry-after-fix", body=BODY)
    assert fixed.status_code == 201


def test_the_same_key_after_a_failure_can_be_used_for_the_corrected_request(api):
    assert post(api, body={**BODY, "plan": "platinum"}).status_code == 422
    retry = post(api)
    assert retry.status_code == 201 and "Idempotent-Replayed" not in retry.headers


@pytest.mark.parametrize("key", ["k" * 256, "", "   ", "schlüssel", "tab\there", "a\x7fb"])
def test_malformed_keys_are_a_400_problem(api, session, key):
    response = post(api, key=key)
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/problem+json"
    assert "Idempotency-Key" in response.get_json()["detail"]
    assert session.scalar(select(func.count()).select_from(IdempotencyRecord)) == 0


def test_the_longest_allowed_key_works(api):
    assert post(api, key="k" * 255).status_code == 201
    assert post(api, key="k" * 255).headers["Idempotent-Replayed"] == "true"


def test_a_replay_still_needs_a_valid_key(api, anonymous_api):
    post(api)
    response = anonymous_api.post("/api/v1/signup-links", json=BODY, headers={"Idempotency-Key": "order-4711"})
    assert response.status_code == 401
