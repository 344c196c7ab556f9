"""Idempotency-Key on POST: the same key and body give the stored response again."""
import hashlib
from functools import wraps

from flask import current_app, g, make_response, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..storage.models import IdempotencyRecord
from ..web.problems import problem

MAX_KEY = 255


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for part in (request.method, request.path, request.get_data(cache=True)):
        digest.update(part if isinstance(part, bytes) else part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


def _replay(record: IdempotencyRecord):
    response = current_app.response_class(record.body, status=record.status, mimetype="application/json")
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _find(key: str) -> IdempotencyRecord | None:
    return db.session.scalar(select(IdempotencyRecord).where(IdempotencyRecord.tenant == g.api_tenant, IdempotencyRecord.key == key))


def idempotent(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return view(*args, **kwargs)
        key = key.strip()
        if not key or len(key) > MAX_KEY:
            return problem(400, f"Idempotency-Key must be 1 to {MAX_KEY} characters.")
        fingerprint = _fingerprint()
        record = _find(key)
        if record is not None:
            if record.fingerprint != fingerprint:
                return problem(422, "This Idempotency-Key was used with a different request.", kind="idempotency-key-reused")
            return _replay(record)
        response = make_response(view(*args, **kwargs))
        if response.status_code < 500:
            db.session.add(IdempotencyRecord(tenant=g.api_tenant, key=key, fingerprint=fingerprint,
                                             status=response.status_code, body=response.get_data(as_text=True)))
            try:
                db.session.commit()
            except IntegrityError:  # a concurrent request with the same key finished first
                db.session.rollback()
                record = _find(key)
                if record is not None and record.fingerprint == fingerprint:
                    return _replay(record)
        return response

    return wrapper
