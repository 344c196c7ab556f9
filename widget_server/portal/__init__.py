"""The customer self-service portal: entered with a one-time link, themed, frameable."""
from flask import Blueprint

bp = Blueprint("portal", __name__, template_folder="templates", url_prefix="/t/<tenant_slug>/portal")

from . import views  # noqa: E402,F401  (registers the routes)
