"""/api/v1 for merchants' back ends: bearer API keys, marshmallow schemas, OpenAPI, problem+json."""
import http

from flask_smorest import Api, Blueprint
from flask_smorest.utils import prepare_response

from ..extensions import csrf, limiter
from ..rate_limits import api_caller, api_limit
from .schemas import ERRORS_MAP, Problem

PROBLEM_JSON = "application/problem+json"

bp = Blueprint("api", __name__, url_prefix="/api/v1", description="Merchant API")
limiter.shared_limit(api_limit, scope="api", key_func=api_caller)(bp)  # all calls of a key count together


class WidgetApi(Api):
    """flask-smorest without its app-wide JSON error handlers: web/errors.py answers
    problem+json under /api/ and HTML pages everywhere else. The document says so too:
    every error response is declared as RFC 9457 problem+json."""

    ERROR_SCHEMA = Problem

    def _register_error_handlers(self):
        pass

    def _register_responses(self):
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_JSON)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Error (RFC 9457 problem details)", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_JSON)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, response, lazy=True)


api = WidgetApi()


def problem_response(status: int, description: str, headers: dict | None = None):
    """Document an error answer of a view as problem+json."""
    return bp.alt_response(status, schema=Problem, content_type=PROBLEM_JSON, description=description, headers=headers)


def init_app(app, blueprint) -> None:
    app.config.setdefault("API_TITLE", "widget-server merchant API")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.1.0")
    app.config.setdefault("OPENAPI_URL_PREFIX", "/api/v1")
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    api.init_app(app, spec_kwargs={
        "security": [{"bearerAuth": []}],
        "info": {"description": "Create sign-up links and read customers. Errors are RFC 9457 problem+json."},
    })
    if "bearerAuth" not in api.spec.components.security_schemes:
        api.spec.components.security_scheme("bearerAuth", {
            "type": "http", "scheme": "bearer",
            "description": "An API key from `widget-server api-keys create <tenant>`; it sees only that tenant's data.",
        })
    if "ErrorsMap" not in api.spec.components.schemas:
        api.spec.components.schema("ErrorsMap", ERRORS_MAP)
    from . import auth, billing, customers, portal_sessions, signup_links  # noqa: F401  (registers routes)
    csrf.exempt(blueprint)
    api.register_blueprint(blueprint)
