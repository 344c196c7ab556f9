"""GET /api/v1/openapi.json: a valid OpenAPI 3.1 document of every API call, and the checker the other tests use."""
import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from tests.api.conftest import OpenApiDocument

PATHS = {
    "/api/v1/signup-links": {"post": {"201", "401", "422"}},
    "/api/v1/customers": {"get": {"200", "401", "422"}},
    "/api/v1/customers/{customer_id}": {"get": {"200", "401", "404"}},
    "/api/v1/contracts/{contract_id}": {"get": {"200", "401", "404"}},
}


@pytest.fixture
def doc(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()


def test_is_a_valid_openapi_3_1_document(doc):
    assert doc["openapi"].startswith("3.1")
    validate(doc)  # raises on any violation of the OpenAPI 3.1 schema


def test_the_validator_does_catch_broken_documents(doc):
    broken = {**doc, "paths": {**doc["paths"], "/api/v1/customers": {"get": {"responses": {"200": {"content": 5}}}}}}
    with pytest.raises(OpenAPIValidationError):
        validate(broken)


def test_needs_no_api_key(anonymous_api):
    assert anonymous_api.client.get("/api/v1/openapi.json").status_code == 200


def test_lists_every_call_with_its_responses_and_schemas(doc):
    for path, operations in PATHS.items():
        assert path in doc["paths"], path
        for method, statuses in operations.items():
            operation = doc["paths"][path][method]
            assert statuses <= set(operation["responses"]), (path, method, set(operation["responses"]))
            success = next(code for code in statuses if code.startswith("2"))
            assert "$ref" in operation["responses"][success]["content"]["application/json"]["schema"]
            assert operation.get("summary")
    body = doc["paths"]["/api/v1/signup-links"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/SignupLinkIn"}
    schemas = doc["components"]["schemas"]
    assert set(schemas["SignupLinkIn"]["properties"]) == {"plan", "locale", "prefill", "locked"}
    assert set(schemas["SignupLinkOut"]["required"]) == {"url", "expires_at"}
    assert {"contracts", "payment_methods", "email", "fields"} <= set(schemas["CustomerOut"]["required"])
    assert schemas["ContractOut"]["properties"]["customer_id"]["type"] == "string"
    assert schemas["ContractOut"]["properties"]["price"]["type"] == "string"
    assert "Masked" in schemas["PaymentMethodOut"]["properties"]["iban"]["description"]


def test_declares_the_bearer_security_scheme_for_everything(doc):
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {
        **doc["components"]["securitySchemes"]["bearerAuth"], "type": "http", "scheme": "bearer"}
    assert doc["security"] == [{"bearerAuth": []}]
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            if method in ("get", "post", "put", "patch", "delete"):
                assert operation.get("security", doc["security"]) == [{"bearerAuth": []}], (path, method)
                assert "WWW-Authenticate" in operation["responses"]["401"]["headers"]


def test_errors_are_declared_as_problem_json(doc):
    problem = doc["components"]["schemas"]["Problem"]
    assert {"type", "title", "status"} <= set(problem["required"])
    assert {"type", "title", "status", "detail", "errors"} <= set(problem["properties"])
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            for code, response in operation["responses"].items():
                if code == "default" or int(code) >= 400:
                    if "$ref" in response:
                        response = doc["components"]["responses"][response["$ref"].rsplit("/", 1)[-1]]
                    assert list(response["content"]) == ["application/problem+json"], (path, method, code)


def test_documents_the_idempotency_key_header(doc):
    parameters = doc["paths"]["/api/v1/signup-links"]["post"]["parameters"]
    [header] = [p for p in parameters if p["in"] == "header"]
    assert header["name"] == "Idempotency-Key" and header["schema"]["maxLength"] == 255


def test_the_response_checker_rejects_answers_that_do_not_match(doc):
    """The check every other test relies on can fail."""
    openapi = OpenApiDocument(doc)
    schema = openapi.response_schema("GET", "/api/v1/contracts/con_abc", 200, "application/json")
    good = {"id": "con_abc", "customer_id": "cus_abc", "plan": "basic", "status": "active", "price": "9.90", "currency": "EUR",
            "interval": "month", "trial_end": None, "current_period_start": "2025-01-01", "current_period_end": "2025-02-01",
            "created_at": "2025-01-01T10:00:00+00:00"}
    openapi.validate(schema, good)
    for bad in ({**good, "price": 9.9}, {**good, "status": "frozen"}, {**good, "created_at": "yesterday"},
                {k: v for k, v in good.items() if k != "plan"}, {**good, "iban": "DE89..."}):
        with pytest.raises(AssertionError):
            openapi.validate(schema, bad)
    problem = openapi.response_schema("GET", "/api/v1/contracts/con_abc", 404, "application/problem+json")
    openapi.validate(problem, {"type": "about:blank", "title": "Not Found", "status": 404, "detail": "No such contract."})
    with pytest.raises(AssertionError):
        openapi.validate(problem, {"code": 404, "status": "Not Found", "message": "No such contract."})
    with pytest.raises(AssertionError):
        openapi.response_schema("GET", "/api/v1/contracts/con_abc", 404, "application/json")


def test_every_answer_of_the_other_tests_was_checked(api):
    """The caller validates what it gets (it counts): an answer outside the document would fail it."""
    api.get("/api/v1/customers")
    api.get("/api/v1/customers/cus_nope")
    api.post("/api/v1/signup-links", json={"plan": "nope"})
    api.post("/api/v1/signup-links", json={})
    assert api.checked == 4
