"""Two service processes on two ports over the same database and Redis, as behind a load balancer:
a portal session made on one works on the other, a portal link used on one is refused by the other,
and rate limits count across both."""
import http.client
import json
import secrets
import urllib.parse

import pytest

from tests.api.conftest import create_key

from .conftest import Instance


def call(instance, method, path, *, headers=None, body=None):
    connection = http.client.HTTPConnection("127.0.0.1", instance.port, timeout=15)
    connection.request(method, path, body=json.dumps(body) if body is not None else None,
                       headers={**({"Content-Type": "application/json"} if body is not None else {}), **(headers or {})})
    answer = connection.getresponse()
    data = answer.read()
    connection.close()
    return answer.status, answer.headers, data


@pytest.fixture
def two_instances(instance_env, redis_server, tmp_path):
    env = {**instance_env, "REDIS_URL": redis_server + "/5", "WIDGET_RATELIMIT_PREFIX": "two-" + secrets.token_hex(4),
           "WIDGET_API_RATE_LIMIT": "6 per minute"}
    started = []
    try:
        for name in ("a", "b"):
            started.append(Instance({**env, "WIDGET_INSTANCE_PATH": str(tmp_path / name)}, tmp_path / f"{name}.log"))
        yield started
    finally:
        for instance in started:
            instance.stop()


def portal_link(instance, key, customer_id):
    status, _headers, data = call(instance, "POST", "/api/v1/portal-sessions", body={"customer_id": customer_id},
                                  headers={"Authorization": f"Bearer {key}"})
    assert status == 201, data
    url = urllib.parse.urlsplit(json.loads(data)["url"])
    return f"{url.path}?{url.query}"


def test_sessions_links_and_limits_are_shared(app, sign_up, two_instances):
    a, b = two_instances
    key = create_key(app, "demo")
    customer_id = sign_up(plan_id="basic").customer.public_id
    auth = {"Authorization": f"Bearer {key}"}

    link = portal_link(a, key, customer_id)
    status, headers, _ = call(a, "GET", link)
    assert status == 302
    cookie = headers["Set-Cookie"].split(";", 1)[0]
    status, _headers, page = call(b, "GET", "/t/demo/portal/", headers={"Cookie": cookie})
    assert status == 200 and "Basis".encode() in page  # the session made on A works on B (in German, her language)

    replay = portal_link(b, key, customer_id)
    assert call(b, "GET", replay)[0] == 302
    status, _headers, page = call(a, "GET", replay)  # used on B: refused on A
    assert status == 400 and b"already been used" in page

    # Two portal-session calls so far, one per instance; the limit is 6 per minute for the key on both together.
    statuses = [call(instance, "GET", "/api/v1/customers", headers=auth)[0] for instance in (a, b, a, b, a)]
    assert statuses == [200, 200, 200, 200, 429]
    assert call(b, "GET", "/api/v1/customers", headers=auth)[0] == 429
