"""The hosted sign-up flow: plan choice, form, payment method, consent, confirmation.

Server-rendered and complete without JavaScript; frameable by the tenant's
allowlisted origins only.
"""
from flask import Blueprint

bp = Blueprint("signup", __name__, template_folder="templates", url_prefix="/t/<tenant_slug>/signup")

from . import views  # noqa: E402,F401  (registers the routes)
