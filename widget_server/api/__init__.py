"""/api/v1 for merchants' back ends: bearer API keys, marshmallow schemas, OpenAPI, problem+json."""
from flask_smorest import Api, Blueprint

from ..extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1", description="Merchant API")


class WidgetApi(Api):
    """flask-smorest without its app-wide JSON error handlers: web/errors.py answers
    problem+json under /api/ and HTML pages everywhere else."""

    def _register_error_handlers(self):
        pass


api = WidgetApi()


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
        api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    from . import auth, customers, signup_links  # noqa: F401  (registers routes)
    csrf.exempt(blueprint)
    api.register_blueprint(blueprint)
