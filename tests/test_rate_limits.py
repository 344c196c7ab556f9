"""Rate limits on the sign-up POST (per client) and the merchant API (per key); the sign-up page itself
is not touched by the limiter at all."""
from tests.api.conftest import create_key
from tests.conftest import VALID_SIGNUP, hidden_inputs


def test_signup_posts_past_the_limit_get_a_page_in_the_visitors_language(app, client, signup_form):
    app.config["WIDGET_SIGNUP_RATE_LIMIT"] = "2 per minute"
    for n in range(2):
        url, data = signup_form(email=f"limit-{n}@example.com")
        assert client.post(url, data=data).status_code == 303
    url, data = signup_form(query="?lang=de", email="limit-3@example.com")
    answer = client.post(url, data=data)
    assert answer.status_code == 429
    assert "Zu viele Versuche" in answer.get_data(as_text=True)
    assert "frame-ancestors 'self'" in answer.headers["Content-Security-Policy"]  # shown inside the merchant's iframe
    other, elsewhere = app.test_client(), {"REMOTE_ADDR": "10.9.8.7"}  # another visitor is not affected
    page = other.get("/t/demo/signup/basic", environ_base=elsewhere)
    data = {**VALID_SIGNUP, **hidden_inputs(page.get_data(as_text=True)), "email": "limit-4@example.com"}
    assert other.post("/t/demo/signup/basic", data=data, environ_base=elsewhere).status_code == 303
    assert client.get("/t/demo/signup/basic").status_code == 200  # reading the form is never limited


def test_the_api_counts_per_key_and_answers_problem_json(app, client):
    app.config["WIDGET_API_RATE_LIMIT"] = "3 per minute"
    first, second = create_key(app, "demo"), create_key(app, "demo")
    paths = ["/api/v1/customers", "/api/v1/customers/cus_nobody", "/api/v1/customers", "/api/v1/customers"]
    statuses = [client.get(path, headers={"Authorization": f"Bearer {first}"}).status_code for path in paths]
    assert statuses == [200, 404, 200, 429]  # all calls of a key count together
    limited = client.get("/api/v1/customers", headers={"Authorization": f"Bearer {first}"})
    assert limited.mimetype == "application/problem+json" and limited.get_json()["status"] == 429
    assert client.get("/api/v1/customers", headers={"Authorization": f"Bearer {second}"}).status_code == 200


def test_only_the_api_blueprint_runs_the_limiters_hooks(app):
    limiter_hooks = lambda hooks: [h for h in hooks if "Limiter" in repr(h)]  # noqa: E731
    assert not limiter_hooks(app.before_request_funcs.get(None, []))
    assert not limiter_hooks(app.after_request_funcs.get(None, []))
    assert limiter_hooks(app.before_request_funcs["api"])
