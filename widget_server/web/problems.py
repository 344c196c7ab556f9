"""RFC 9457 problem details for the API."""
from flask import jsonify
from werkzeug.http import HTTP_STATUS_CODES

PROBLEM_TYPE = "https://widget-server.dev/problems/"


def problem(status: int, detail: str | None = None, *, errors: dict | None = None, kind: str | None = None, headers=None):
    body = {
        "type": PROBLEM_TYPE + kind if kind else "about:blank",
        "title": HTTP_STATUS_CODES.get(status, "Error"),
        "status": status,
    }
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response
