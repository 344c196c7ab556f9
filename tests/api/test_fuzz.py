"""Schemathesis generates requests from /api/v1/openapi.json, valid and invalid, for every operation:
no answer may be a 5xx, and every answer must match the documented status codes, content types and schemas."""
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)

from widget_server import create_app

from ..conftest import TEST_SECRET

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

# The document comes from an app of its own: create_app has no side effects, and the test's app
# (with its migrated database) only exists inside the test.
_document = create_app({"SECRET_KEY": TEST_SECRET, "DATABASE_URL": "sqlite://"}).test_client().get("/api/v1/openapi.json")
schema = schemathesis.openapi.from_dict(_document.get_json())


@schema.parametrize()
@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much])
def test_no_5xx_and_every_answer_matches_the_schema(case, app, demo_key, sign_up):
    if not getattr(app, "fuzz_seeded", False):
        sign_up(plan_id="basic")  # something to find
        app.fuzz_seeded = True
    case.call_and_validate(app=app, headers={"Authorization": f"Bearer {demo_key}"}, checks=CHECKS)
