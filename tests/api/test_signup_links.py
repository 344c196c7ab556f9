"""POST /api/v1/signup-links: validation, signed prefill, locked fields, the hosted form that opens it."""
import re
import secrets
import time
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlencode, urlsplit

import itsdangerous
import pytest
from sqlalchemy import func, select

from tests.conftest import hidden_inputs
from widget_server.storage.models import Contract, Customer

PREFILL = {"first_name": "Björn", "last_name": "Berg", "email": "bjorn@example.com", "city": "Hamburg",
           "goal": "endurance", "newsletter": True}


def customers(session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Customer))


def input_tag(page: str, name: str) -> str:
    """The <input> or <select> tag of a form field."""
    match = re.search(rf'<(?:input|select)\b[^>]*\bname="{re.escape(name)}"[^>]*>', page)
    assert match, f"no input named {name}"
    return match.group(0)


def test_creates_a_link_on_the_public_url_that_expires_in_the_future(app, api):
    app.config["WIDGET_PUBLIC_URL"] = "https://signup.acme.example"
    before = datetime.now(timezone.utc)
    response = api.post("/api/v1/signup-links", json={"plan": "pro", "locale": "de", "prefill": {"email": "a@example.com"}})
    assert response.status_code == 201
    assert response.mimetype == "application/json"
    data = response.get_json()
    assert set(data) == {"url", "expires_at"}
    url = urlsplit(data["url"])
    assert (url.scheme, url.netloc, url.path) == ("https", "signup.acme.example", "/t/demo/signup/pro")
    query = parse_qs(url.query)
    assert query["lang"] == ["de"] and len(query["prefill"]) == 1
    assert "a@example.com" not in data["url"]  # signed and compressed, not a readable query
    expires = datetime.fromisoformat(data["expires_at"])
    assert expires.tzinfo is not None
    max_age = timedelta(seconds=app.config["WIDGET_SIGNUP_LINK_MAX_AGE"])
    assert before + max_age - timedelta(seconds=5) <= expires <= datetime.now(timezone.utc) + max_age + timedelta(seconds=5)


def test_minimal_link_needs_no_body(api, client):
    for kwargs in ({"json": {}}, {}):
        response = api.post("/api/v1/signup-links", **kwargs)
        assert response.status_code == 201
        link = urlsplit(response.get_json()["url"])
        assert link.path == "/t/demo/signup"
        page = client.get(f"{link.path}?{link.query}")
        assert page.status_code == 200 and "Basic" in page.get_data(as_text=True)


INVALID = [
    pytest.param({"plan": "platinum"}, {"plan"}, id="unknown plan"),
    pytest.param({"plan": "mellan"}, {"plan"}, id="plan of another tenant"),
    pytest.param({"locale": "fr"}, {"locale"}, id="locale not offered"),
    pytest.param({"locale": ""}, {"locale"}, id="empty locale"),
    pytest.param({"prefill": {"shoe_size": "44"}}, {"prefill.shoe_size"}, id="unknown prefill field"),
    pytest.param({"prefill": {"grind": "espresso"}}, {"prefill.grind"}, id="field of another tenant"),
    pytest.param({"prefill": {"email": "not-an-address"}}, {"prefill.email"}, id="bad e-mail"),
    pytest.param({"prefill": {"first_name": "A" * 61}}, {"prefill.first_name"}, id="over theme max_length"),
    pytest.param({"prefill": {"company": "C" * 501}}, {"prefill.company"}, id="over 500 characters"),
    pytest.param({"prefill": {"phone": "12"}}, {"prefill.phone"}, id="bad phone"),
    pytest.param({"prefill": {"vat_id": "DE000"}}, {"prefill.vat_id"}, id="bad VAT id"),
    pytest.param({"prefill": {"country": "XX"}}, {"prefill.country"}, id="bad country"),
    pytest.param({"prefill": {"birth_date": "31.12.1990"}}, {"prefill.birth_date"}, id="bad date"),
    pytest.param({"prefill": {"goal": "napping"}}, {"prefill.goal"}, id="select value not offered"),
    pytest.param({"prefill": {"email": "a@example.com"}, "locked": ["city"]}, {"locked"}, id="locked without prefill"),
    pytest.param({"prefill": {"company": ""}, "locked": ["company"]}, {"locked"}, id="locked empty value"),
    pytest.param({"locked": ["email"] * 51, "prefill": {"email": "a@example.com"}}, {"locked"}, id="too many locked"),
    pytest.param({"plan": 5}, {"plan"}, id="plan not a string"),
    pytest.param({"plan": None}, {"plan"}, id="plan null"),
    pytest.param({"locale": ["de"]}, {"locale"}, id="locale not a string"),
    pytest.param({"prefill": ["email"]}, {"prefill"}, id="prefill not an object"),
    pytest.param({"prefill": "email=a@example.com"}, {"prefill"}, id="prefill a string"),
    pytest.param({"locked": "email", "prefill": {"email": "a@example.com"}}, {"locked"}, id="locked not a list"),
    pytest.param({"locked": [1], "prefill": {"email": "a@example.com"}}, {"locked.0"}, id="locked item not a string"),
    pytest.param({"prefill": {"first_name": 42}}, {"prefill.first_name"}, id="number for a text field"),
    pytest.param({"prefill": {"first_name": True}}, {"prefill.first_name"}, id="boolean for a text field"),
    pytest.param({"prefill": {"first_name": None}}, {"prefill.first_name"}, id="null for a text field"),
    pytest.param({"prefill": {"first_name": {"x": 1}}}, {"prefill.first_name"}, id="object for a text field"),
    pytest.param({"prefill": {"newsletter": "yes"}}, {"prefill.newsletter"}, id="string for a checkbox"),
    pytest.param({"surprise": 1}, {"surprise"}, id="unknown top-level member"),
    pytest.param({"plan": "platinum", "locale": "fr", "prefill": {"email": "x", "shoe_size": "1"}, "locked": ["city"]},
                 {"plan", "locale", "prefill.email", "prefill.shoe_size", "locked"}, id="everything at once"),
]


def _error_paths(errors: dict, prefix="") -> set[str]:
    paths = set()
    for name, value in errors.items():
        if isinstance(value, dict):
            paths |= _error_paths(value, f"{prefix}{name}.")
        else:
            assert isinstance(value, list) and value and all(isinstance(m, str) and m for m in value), value
            paths.add(prefix + name)
    return paths


@pytest.mark.parametrize("body, fields", INVALID)
def test_invalid_requests_are_422_problems_with_a_per_field_errors_map(api, body, fields):
    response = api.post("/api/v1/signup-links", json=body)
    assert response.status_code == 422, response.get_json()
    assert response.headers["Content-Type"] == "application/problem+json"
    problem = response.get_json()
    assert problem["title"] == "Unprocessable Entity" and problem["detail"]
    assert _error_paths(problem["errors"]) == fields


@pytest.mark.parametrize("kwargs", [
    pytest.param({"data": "plan=basic", "content_type": "application/x-www-form-urlencoded"}, id="form body"),
    pytest.param({"data": "plan: basic", "content_type": "text/plain"}, id="text body"),
    pytest.param({"data": '{"plan": "basic"}', "content_type": "text/plain"}, id="JSON sent as text"),
    pytest.param({"data": '{"plan": "basic"', "content_type": "application/json"}, id="broken JSON"),
    pytest.param({"data": "[1, 2]", "content_type": "application/json"}, id="JSON array"),
    pytest.param({"data": '"basic"', "content_type": "application/json"}, id="JSON string"),
    pytest.param({"data": "null", "content_type": "application/json"}, id="JSON null"),
    pytest.param({"data": b"\xff\xfe{}", "content_type": "application/json"}, id="not UTF-8"),
    pytest.param({"data": "[" * 100_000 + "]" * 100_000, "content_type": "application/json"}, id="deeply nested"),
])
def test_a_body_that_is_not_a_json_object_is_a_422_problem(api, kwargs):
    response = api.post("/api/v1/signup-links", **kwargs)
    assert response.status_code == 422
    assert response.headers["Content-Type"] == "application/problem+json"
    assert list(response.get_json()["errors"]) == ["body"]


def test_an_oversized_body_is_a_413_problem(api):
    response = api.post("/api/v1/signup-links", json={"prefill": {"company": "x" * 300_000}})
    assert response.status_code == 413
    assert response.headers["Content-Type"] == "application/problem+json"


def test_the_link_opens_the_form_prefilled_with_locked_fields_read_only(client, signup_link):
    data, path = signup_link(plan="basic", locale="de", prefill=PREFILL, locked=["email", "last_name", "goal", "newsletter"])
    page = client.get(path)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'lang="de"' in html
    assert 'value="Björn"' in input_tag(html, "first_name") and "readonly" not in input_tag(html, "first_name")
    assert 'value="Hamburg"' in input_tag(html, "city") and "readonly" not in input_tag(html, "city")
    assert 'value="bjorn@example.com"' in input_tag(html, "email") and "readonly" in input_tag(html, "email")
    assert 'value="Berg"' in input_tag(html, "last_name") and "readonly" in input_tag(html, "last_name")
    assert "disabled" in input_tag(html, "goal")
    assert re.search(r'<option value="endurance" selected>', html)
    assert "disabled" in input_tag(html, "newsletter") and "checked" in input_tag(html, "newsletter")
    assert "readonly" not in input_tag(html, "street") and "disabled" not in input_tag(html, "country")
    assert hidden_inputs(html)["prefill"] == parse_qs(urlsplit(data["url"]).query)["prefill"][0]


def test_a_link_without_plan_keeps_the_prefill_through_the_plan_choice(client, signup_link):
    _, path = signup_link(prefill={"email": "carla@example.com"}, locked=["email"])
    choice = client.get(path)
    assert choice.status_code == 200
    token = parse_qs(urlsplit(path).query)["prefill"][0]
    form = client.get(f"/t/demo/signup/pro?{urlencode({'prefill': token})}").get_data(as_text=True)
    assert 'value="carla@example.com"' in input_tag(form, "email") and "readonly" in input_tag(form, "email")


def test_a_link_with_a_plan_but_no_plan_in_the_path_redirects_to_the_form(client, api):
    token = parse_qs(urlsplit(api.post("/api/v1/signup-links", json={"plan": "pro"}).get_json()["url"]).query)["prefill"][0]
    response = client.get(f"/t/demo/signup?{urlencode({'prefill': token})}")
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/t/demo/signup/pro"


def test_posting_other_values_for_locked_fields_stores_the_signed_ones(client, session, signup_link):
    _, path = signup_link(plan="basic", prefill=PREFILL, locked=["email", "last_name", "goal", "newsletter"])
    html = client.get(path).get_data(as_text=True)
    form = {
        **hidden_inputs(html), "first_name": "Bert", "last_name": "Mallory", "email": "mallory@evil.example",
        "goal": "strength", "street": "Weg 1", "postal_code": "20095", "city": "Hamburg", "country": "DE",
        "payment_method": "invoice", "consent": "1",
    }  # newsletter left out: a disabled checkbox is not sent, the signed value still counts
    response = client.post(urlsplit(path).path, data=form)
    assert response.status_code == 303, response.get_data(as_text=True)[:1000]
    customer = session.scalar(select(Customer))
    assert customer.email == "bjorn@example.com"
    assert customer.fields["last_name"] == "Berg" and customer.fields["goal"] == "endurance"
    assert customer.fields["newsletter"] is True
    assert customer.fields["first_name"] == "Bert"  # not locked: the customer may change it


def test_posting_a_form_without_the_prefill_token_is_a_normal_signup(client, session, signup_link):
    """Dropping the token does not help an attacker keep anything: it is just an ordinary sign-up."""
    _, path = signup_link(plan="basic", prefill=PREFILL, locked=["email"])
    form = {k: v for k, v in hidden_inputs(client.get(path).get_data(as_text=True)).items() if k != "prefill"}
    form.update({"first_name": "A", "last_name": "B", "email": "other@example.com", "street": "Weg 1", "postal_code": "1",
                 "city": "C", "country": "DE", "payment_method": "invoice", "consent": "1"})
    assert client.post(urlsplit(path).path, data=form).status_code == 303
    assert session.scalar(select(Customer)).email == "other@example.com"


def _tamper(token: str, index: int) -> str:
    ch = token[index]
    return token[:index] + ("A" if ch != "A" else "B") + token[index + 1:]


@pytest.mark.parametrize("where", ["payload", "timestamp", "signature", "truncated", "garbage", "another purpose"])
def test_a_tampered_token_gives_a_clear_400_page_and_stores_nothing(app, client, session, signup_link, where):
    data, path = signup_link(plan="basic", prefill=PREFILL, locked=["email"])
    token = parse_qs(urlsplit(data["url"]).query)["prefill"][0]
    payload, stamp, signature = token.rsplit(".", 2)
    bad = {
        "payload": lambda: _tamper(token, len(payload) // 2),
        "timestamp": lambda: _tamper(token, len(payload) + 2),
        "signature": lambda: _tamper(token, len(token) - len(signature) // 2),
        "truncated": lambda: token[:-5],
        "garbage": lambda: "not-a-token%00<script>",
        "another purpose": lambda: itsdangerous.URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="other").dumps(
            {"t": "demo", "p": {"values": {"email": "mallory@evil.example"}, "locked": ["email"]}}),
    }[where]()
    assert bad != token
    page = client.get(f"/t/demo/signup/basic?{urlencode({'prefill': bad})}")
    assert page.status_code == 400
    html = page.get_data(as_text=True)
    assert "invalid or has expired" in html and 'href="/t/demo/signup' in html
    assert "bjorn@example.com" not in html and "mallory" not in html

    form = {**hidden_inputs(client.get(path).get_data(as_text=True)), "prefill": bad, "first_name": "A", "last_name": "B",
            "email": "x@example.com", "street": "Weg 1", "postal_code": "1", "city": "C", "country": "DE",
            "payment_method": "invoice", "consent": "1"}
    response = client.post("/t/demo/signup/basic", data=form)
    assert response.status_code == 400
    assert customers(session) == 0


def test_the_plan_choice_page_refuses_a_tampered_token_too(client, signup_link):
    data, _ = signup_link(prefill={"email": "a@example.com"})
    token = parse_qs(urlsplit(data["url"]).query)["prefill"][0]
    response = client.get(f"/t/demo/signup?{urlencode({'prefill': _tamper(token, 10)})}")
    assert response.status_code == 400 and "invalid or has expired" in response.get_data(as_text=True)


def test_an_expired_link_is_refused(client, session, signup_link, monkeypatch):
    eight_days_ago = int(time.time()) - 8 * 24 * 3600
    monkeypatch.setattr(itsdangerous.TimestampSigner, "get_timestamp", lambda self: eight_days_ago)
    _, path = signup_link(plan="basic", prefill={"email": "old@example.com"}, locked=["email"])
    monkeypatch.undo()
    page = client.get(path)
    assert page.status_code == 400 and "invalid or has expired" in page.get_data(as_text=True)
    assert "old@example.com" not in page.get_data(as_text=True)
    assert customers(session) == 0


def test_the_link_max_age_is_configurable(app, client, api, monkeypatch):
    app.config["WIDGET_SIGNUP_LINK_MAX_AGE"] = 60
    response = api.post("/api/v1/signup-links", json={"plan": "basic"})
    expires = datetime.fromisoformat(response.get_json()["expires_at"])
    assert timedelta(seconds=55) <= expires - datetime.now(timezone.utc) <= timedelta(seconds=61)
    link = urlsplit(response.get_json()["url"])
    assert client.get(f"{link.path}?{link.query}").status_code == 200
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 120)  # two minutes later
    assert client.get(f"{link.path}?{link.query}").status_code == 400


def test_a_token_of_another_tenant_is_refused(client, session, fjord_api, signup_link):
    fjord = fjord_api.post("/api/v1/signup-links", json={"plan": "mellan", "prefill": {"email": "f@example.com"}, "locked": ["email"]})
    assert fjord.status_code == 201
    fjord_link = urlsplit(fjord.get_json()["url"])
    assert fjord_link.path == "/t/fjord/signup/mellan"
    assert client.get(f"{fjord_link.path}?{fjord_link.query}").status_code == 200
    token = parse_qs(fjord_link.query)["prefill"][0]
    for path in ("/t/demo/signup/basic", "/t/demo/signup"):
        page = client.get(f"{path}?{urlencode({'prefill': token})}")
        assert page.status_code == 400 and "f@example.com" not in page.get_data(as_text=True)
    demo_data, _ = signup_link(plan="basic", prefill={"email": "d@example.com"})
    demo_token = parse_qs(urlsplit(demo_data["url"]).query)["prefill"][0]
    assert client.get(f"/t/fjord/signup/mellan?{urlencode({'prefill': demo_token})}").status_code == 400
    assert customers(session) == 0


def test_prefill_values_are_stored_clean(client, session, signup_link):
    """The API validates with the form's own rules, so what it accepts the form accepts too."""
    _, path = signup_link(plan="pro", prefill={"email": "  Dora@Example.com ", "phone": "030 1234567", "country": "de",
                                               "first_name": "Dora", "last_name": "D", "street": "S 1",
                                               "postal_code": "10115", "city": "Berlin"},
                          locked=["phone", "country"])
    html = client.get(path).get_data(as_text=True)
    assert 'value="+49301234567"' in input_tag(html, "phone")
    form = {**hidden_inputs(html), "first_name": "Dora", "last_name": "D", "email": "dora@example.com", "street": "S 1",
            "postal_code": "10115", "city": "Berlin", "payment_method": "invoice", "consent": "1"}
    assert client.post(urlsplit(path).path, data=form).status_code == 303
    customer = session.scalar(select(Customer))
    assert customer.fields["phone"] == "+49301234567" and customer.fields["country"] == "DE"
    assert session.scalar(select(Contract)).plan_id == "pro"


def add_fields(themes_dir, *fields: tuple[str, str, int | None]) -> None:
    """Append (name, type, max_length) fields to the demo theme."""
    toml = themes_dir / "demo" / "theme.toml"
    extra = "".join(
        f'[[fields]]\nname = "{name}"\ntype = "{kind}"\n' + (f"max_length = {limit}\n" if limit else "")
        + 'label = { en = "X", de = "X", sv = "X", da = "X" }\n\n'
        for name, kind, limit in fields)
    toml.write_text(toml.read_text().replace("[payments]", extra + "[payments]", 1))


@pytest.fixture
def demo_with_iban_field(themes_dir):
    """The demo theme with an extra field of type iban (the theme files allow it)."""
    add_fields(themes_dir, ("payout_iban", "iban", None))


def test_an_iban_field_is_validated_like_the_form_does(api, client, demo_with_iban_field):
    bad = api.post("/api/v1/signup-links", json={"prefill": {"payout_iban": "DE89370400440532013001"}})
    assert bad.status_code == 422, bad.get_json()
    assert set(bad.get_json()["errors"]["prefill"]) == {"payout_iban"}
    good = api.post("/api/v1/signup-links", json={"plan": "basic", "prefill": {"payout_iban": "GB82 WEST 1234 5698 7654 32"}})
    assert good.status_code == 201, good.get_json()
    link = urlsplit(good.get_json()["url"])
    assert 'value="GB82WEST12345698765432"' in input_tag(client.get(f"{link.path}?{link.query}").get_data(as_text=True), "payout_iban")


def test_a_link_too_big_to_open_is_refused_when_created(api, themes_dir):
    add_fields(themes_dir, *((f"note{i}", "text", 500) for i in range(20)))
    prefill = {f"note{i}": secrets.token_urlsafe(375) for i in range(20)}  # random text does not compress
    response = api.post("/api/v1/signup-links", json={"prefill": prefill})
    assert response.status_code == 422
    assert "prefill" in response.get_json()["errors"]
