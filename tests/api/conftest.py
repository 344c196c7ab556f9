"""Fixtures of the merchant API tests.

`api` (and `fjord_api`) call the API with a key created through the real CLI. Every JSON
answer they get is checked against the OpenAPI document the service publishes: the schema
declared for that path, method, status and content type. No answer may be a 500, and no
answer may contain a full IBAN.
"""
import re
from urllib.parse import urlsplit

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from widget_server.cli import main as widget_server_cli

# Full IBANs used by the tests (compact and as typed); none may ever appear in an API answer.
IBAN = "DE89370400440532013000"
IBAN_TYPED = "DE89 3704 0044 0532 0130 00"
OPENAPI_URI = "urn:widget-server:openapi"


def create_key(app, tenant: str) -> str:
    """`widget-server api-keys create <tenant>` through the real command; the key is the last line."""
    result = app.test_cli_runner().invoke(widget_server_cli, ["api-keys", "create", tenant])
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1]


def _pointer(*parts: str) -> str:
    return "/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


class OpenApiDocument:
    """The published document, able to validate an answer against what it declares."""

    def __init__(self, doc: dict):
        self.doc = doc
        self.registry = Registry().with_resource(OPENAPI_URI, Resource.from_contents(doc, default_specification=DRAFT202012))
        self._templates = [(re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$"), path)
                           for path in doc["paths"]]

    def template(self, path: str) -> str | None:
        return next((template for pattern, template in self._templates if pattern.match(path)), None)

    def _follow(self, obj: dict, pointer: str) -> tuple[dict, str]:
        while "$ref" in obj:
            pointer = obj["$ref"].removeprefix("#")
            obj = self.doc
            for part in pointer.strip("/").split("/"):
                obj = obj[part.replace("~1", "/").replace("~0", "~")]
        return obj, pointer

    def response_schema(self, method: str, path: str, status: int, content_type: str) -> dict | None:
        """A schema that $refs the declared one, or None when the path is not an API path."""
        template = self.template(path)
        if template is None:
            return None
        operation = self.doc["paths"][template].get(method.lower())
        if operation is None and status == 405:
            return None  # a method the path does not have: nothing declared (the problem shape is checked anyway)
        assert operation is not None, f"{method} {template} is not in the OpenAPI document"
        code = str(status) if str(status) in operation["responses"] else "default"
        assert code in operation["responses"], f"{method} {template} declares no response for {status} (and no default)"
        response, pointer = self._follow(operation["responses"][code],
                                         _pointer("paths", template, method.lower(), "responses", code))
        content = response.get("content") or {}
        assert content_type in content, f"{method} {template} {status}: {content_type} not declared ({list(content)})"
        return {"$ref": f"{OPENAPI_URI}#{pointer}{_pointer('content', content_type, 'schema')}"}

    def validate(self, schema: dict, instance) -> None:
        validator = Draft202012Validator(schema, registry=self.registry, format_checker=Draft202012Validator.FORMAT_CHECKER)
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
        assert not errors, "answer does not match the OpenAPI document:\n" + "\n".join(
            f"  {list(e.absolute_path)}: {e.message}" for e in errors)


@pytest.fixture
def openapi(client) -> OpenApiDocument:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return OpenApiDocument(response.get_json())


class ApiCaller:
    """Calls the API as one tenant and checks every answer against the OpenAPI document."""

    def __init__(self, client, openapi: OpenApiDocument, key: str | None):
        self.client, self.openapi, self.key = client, openapi, key
        self.checked = 0

    def request(self, method: str, path: str, *, key: str | None = ..., headers=None, **kwargs):
        headers = dict(headers or {})
        key = self.key if key is ... else key
        if key is not None and "Authorization" not in headers:
            headers["Authorization"] = f"Bearer {key}"
        response = self.client.open(path, method=method, headers=headers, **kwargs)
        self.check(method, path, response)
        return response

    def check(self, method: str, path: str, response) -> None:
        body = response.get_data(as_text=True)
        assert response.status_code != 500, f"{method} {path} answered {response.status_code}: {body[:500]}"
        for iban in (IBAN, IBAN_TYPED, IBAN.lower()):
            assert iban not in body, f"{method} {path} leaks a full IBAN"
        assert response.mimetype in ("application/json", "application/problem+json"), response.mimetype
        if response.status_code >= 400:
            assert response.mimetype == "application/problem+json"
            problem = response.get_json()
            assert {"type", "title", "status", "detail"} <= problem.keys(), problem
            assert problem["status"] == response.status_code
        schema = self.openapi.response_schema(method, urlsplit(path).path, response.status_code, response.mimetype)
        if schema is not None:
            self.openapi.validate(schema, response.get_json())
            self.checked += 1

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self.request("POST", path, **kwargs)


@pytest.fixture
def demo_key(app) -> str:
    return create_key(app, "demo")


@pytest.fixture
def fjord_key(app) -> str:
    return create_key(app, "fjord")


@pytest.fixture
def api(client, openapi, demo_key) -> ApiCaller:
    return ApiCaller(client, openapi, demo_key)


@pytest.fixture
def fjord_api(client, openapi, fjord_key) -> ApiCaller:
    return ApiCaller(client, openapi, fjord_key)


@pytest.fixture
def anonymous_api(client, openapi) -> ApiCaller:
    return ApiCaller(client, openapi, None)


@pytest.fixture
def signup_link(api):
    """POST /api/v1/signup-links and return (response JSON, the link's path and query on this server)."""

    def create(**body):
        response = api.post("/api/v1/signup-links", json=body)
        assert response.status_code == 201, response.get_json()
        data = response.get_json()
        parts = urlsplit(data["url"])
        return data, f"{parts.path}?{parts.query}"

    return create


@pytest.fixture
def signed_up(client, signup_form):
    """Sign up through the real hosted form; returns the new contract's public id."""

    def sign_up(tenant="demo", plan="basic", **overrides):
        url, data = signup_form(tenant=tenant, plan=plan, **overrides)
        response = client.post(url, data=data)
        assert response.status_code == 303, response.get_data(as_text=True)[:2000]
        match = re.fullmatch(rf"/t/{tenant}/signup/complete/([A-Za-z0-9_-]+)", urlsplit(response.headers["Location"]).path)
        assert match, response.headers["Location"]
        return match.group(1)

    return sign_up
