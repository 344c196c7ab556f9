"""Error pages in the visitor's language, problem+json under /api/. Never a bare 500."""
import logging

from flask import current_app, g, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

from ..tenants import TenantUnavailable, UnknownTenant
from ..extensions import db
from .problems import problem

log = logging.getLogger(__name__)


def _wants_problem() -> bool:
    return request.path.startswith("/api/")


def _messages(status: int) -> tuple[str, str]:
    known = {
        400: (_("This request could not be processed"), _("Something in the request was not as expected. Please go back and try again.")),
        401: (_("Please sign in"), _("This page is only for signed-in customers.")),
        404: (_("Page not found"), _("The page you were looking for does not exist or is no longer available.")),
        405: (_("Not allowed"), _("This page cannot be used that way.")),
        413: (_("Too much data"), _("The form sent more data than we accept.")),
        429: (_("Too many attempts"), _("Please wait a moment and try again.")),
        503: (_("Temporarily unavailable"), _("This page is being updated. Please try again in a few minutes.")),
    }
    return known.get(status, (_("Something went wrong"), _("We could not complete your request. Please try again later.")))


def render_error(status: int, detail: str | None = None, problems=None, action: tuple[str, str] | None = None):
    """An error page in the visitor's language; `action` is an (url, label) way forward."""
    title, text = _messages(status)
    page = render_template("error.html", status=status, title=title, text=detail or text, problems=problems, action=action)
    return page, status


def handle_http(exc: HTTPException):
    status = exc.code or 500
    if _wants_problem():
        errors, detail = None, exc.description
        data = getattr(exc, "data", None)
        if isinstance(data, dict):
            messages = data.get("messages")
            if isinstance(messages, dict):
                # webargs keys errors by location; merchants want the fields themselves
                errors = {k: v for location in messages.values() if isinstance(location, dict) for k, v in location.items()} or messages
            detail = data.get("message") or ("The request is not valid." if errors else detail)
        return problem(status, detail, errors=errors)
    return render_error(status)


def handle_csrf(exc: CSRFError):
    if _wants_problem():
        return problem(400, "CSRF token missing or invalid.")
    return render_error(400, _("Your form session has expired or cookies are blocked. Please reload the page and submit the form again."))


def handle_unknown_tenant(exc: UnknownTenant):
    g.pop("tenant", None)
    if _wants_problem():
        return problem(404, "Unknown tenant.")
    return render_error(404, _("There is no such shop here. Please check the link you followed."))


def handle_unavailable(exc: TenantUnavailable):
    g.pop("tenant", None)
    log.error("theme of tenant unavailable: %s", exc)
    shown = exc.problems if current_app.config["WIDGET_SHOW_THEME_ERRORS"] else None
    return render_error(503, problems=shown)


def handle_database_down(exc: DBAPIError):
    """The database is unreachable (restarting, failing over): a friendly 503, and nothing half-stored,
    since every write is one transaction. The pool reconnects by itself once it is back."""
    if not isinstance(exc, OperationalError) and not exc.connection_invalidated:
        return handle_unexpected(exc)
    log.warning("database unavailable on %s %s: %s", request.method, request.path, type(exc.orig).__name__)
    try:
        db.session.rollback()
    except DBAPIError:
        pass
    headers = {"Retry-After": "10"}
    if _wants_problem():
        return problem(503, "The service is briefly unavailable. Please retry in a few seconds.", headers=headers)
    page, status = render_error(503, _("We are having a short technical problem. Please try again in a minute."))
    return page, status, headers


def handle_unexpected(exc: Exception):
    log.exception("unhandled error on %s %s", request.method, request.path)
    if _wants_problem():
        return problem(500, "An unexpected error occurred.")
    g.pop("tenant", None)
    try:
        return render_error(500)
    except Exception:  # the error page itself failed: answer in plain text
        return "Internal error", 500, {"Content-Type": "text/plain; charset=utf-8"}


def init_app(app) -> None:
    app.register_error_handler(CSRFError, handle_csrf)
    app.register_error_handler(UnknownTenant, handle_unknown_tenant)
    app.register_error_handler(TenantUnavailable, handle_unavailable)
    app.register_error_handler(HTTPException, handle_http)
    app.register_error_handler(DBAPIError, handle_database_down)
    app.register_error_handler(Exception, handle_unexpected)
