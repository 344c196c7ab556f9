"""Request bodies of the API are JSON objects; anything else is a 422 problem naming the body."""
import json
from functools import wraps

from flask import request

from ..web.problems import problem

BODY = "body"  # the key of the errors map for a body that is not a JSON object at all


def body_object() -> dict | None:
    """The request body as a dict ({} when empty), or None when it is not one JSON object."""
    data = request.get_data(cache=True)
    if not data.strip():
        return {}
    if not request.is_json:
        return None
    try:
        value = json.loads(data)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def json_object_body(view):
    """Refuse bodies that are not a JSON object (or empty) before webargs sees them."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if body_object() is None:
            detail = "The request body must be a JSON object sent with 'Content-Type: application/json'."
            return problem(422, detail, errors={BODY: [detail]})
        return view(*args, **kwargs)

    return wrapper
