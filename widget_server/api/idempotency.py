"""Idempotency-Key on POST: the same key and body give the stored response again."""
import hashlib
import json
import re
from functools import wraps

from flask import current_app, g, make_response, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..storage.models import IdempotencyRecord
from ..web.problems import problem
from .json_body import body_object

MAX_KEY = 255
# Printable ASCII only: keys are compared byte for byte and stored as they are.
KEY = re.compile(r"^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$")
HEADER_DOC = {
    "in": "header", "name": "Idempotency-Key", "required": False,
    "description": "Any unique string (1 to 255 printable ASCII characters, e.g. a UUID). Retrying with the same key "
                   "and body returns the first response again, with `Idempotent-Replayed: true`; the same key with "
                   "another body is a 422 problem. Keys are per tenant.",
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY},
}
REPLAYED_DOC = {"Idempotent-Replayed": {"description": "`true` when this is a stored response replayed for a repeated Idempotency-Key",
                                        "schema": {"type": "string", "enum": ["true"]}}}


def _fingerprint() -> str:
    """Method, path and body; the body as canonical JSON, so key order and spacing do not matter."""
    body = body_object()
    payload = json.dumps(body, sort_keys=True, separators=(",", ":")).encode() if body is not None else request.get_data(cache=True)
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.path.encode(), payload):
        digest.update(part)
        digest.update(b"\0")
    return digest.hexdigest()


def _replay(record: IdempotencyRecord):
    response = current_app.response_class(record.body, status=record.status, mimetype="application/json")
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _find(key: str) -> IdempotencyRecord | None:
    return db.session.scalar(select(IdempotencyRecord).where(IdempotencyRecord.tenant == g.api_tenant, IdempotencyRecord.key == key))


def _reused():
    return problem(422, "This Idempotency-Key was used with a different request.", kind="idempotency-key-reused",
                   errors={"Idempotency-Key": ["Already used with a different request; use a new key for a new request."]})


def idempotent(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return view(*args, **kwargs)
        key = key.strip()
        if not key or len(key) > MAX_KEY or not KEY.match(key):
            return problem(400, f"Idempotency-Key must be 1 to {MAX_KEY} printable ASCII characters.")
        fingerprint = _fingerprint()
        record = _find(key)
        if record is not None:
            if record.fingerprint != fingerprint:
                return _reused()
            return _replay(record)
        response = make_response(view(*args, **kwargs))
        if 200 <= response.status_code < 300:  # failures are not remembered: fix the request and retry
            db.session.add(IdempotencyRecord(tenant=g.api_tenant, key=key, fingerprint=fingerprint,
                                             status=response.status_code, body=response.get_data(as_text=True)))
            try:
                db.session.commit()
            except IntegrityError:  # a concurrent request with the same key finished first
                db.session.rollback()
                record = _find(key)
                if record is not None:
                    return _replay(record) if record.fingerprint == fingerprint else _reused()
        return response

    return wrapper
