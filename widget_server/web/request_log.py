"""Log lines as JSON, each with the request id, and never a secret.

The request id is the caller's `X-Request-ID` (when it looks like one) or a new
one, made only when something is logged, so quiet requests pay nothing for it.
Every line passes through `redact`, which removes what must never reach a log:
tokens, hand-offs and keys (query strings, bearer headers, key=value pairs), passwords and
IBANs (country, check digits and the last four digits stay).
"""
import logging
import re
import sys
import uuid

from flask import g, has_request_context, request
from pythonjsonlogger.json import JsonFormatter

REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{8,64}$")
_SECRET_VALUE = re.compile(
    r"(?i)\b(token|handoff|prefill|api[_-]?key|secret|password|passwd|signature|csrf_token|key)(=|:\s*|\"\s*:\s*\")([^\s&\"',;]+)")
_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/\-]+=*")
_IBAN = re.compile(r"\b([A-Z]{2}\d{2})((?:\s?[A-Z0-9]){7,26})\b")
_LONG_TOKEN = re.compile(r"\b[A-Za-z0-9_\-]{20,}\.[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]{16,}\b")  # itsdangerous tokens


def _mask_iban(found: re.Match) -> str:
    rest = found.group(2).replace(" ", "")
    return f"{found.group(1)}{'•' * (len(rest) - 4)}{rest[-4:]}"


def redact(text: str) -> str:
    text = _SECRET_VALUE.sub(lambda m: f"{m.group(1)}{m.group(2)}[redacted]", text)
    text = _BEARER.sub(r"\1 [redacted]", text)
    text = _LONG_TOKEN.sub("[redacted]", text)
    return _IBAN.sub(_mask_iban, text)


def request_id() -> str | None:
    """This request's id: the caller's X-Request-ID if it is well-formed, else a new one."""
    if not has_request_context():
        return None
    found = g.get("request_id")
    if found is None:
        offered = request.headers.get("X-Request-ID", "")
        found = g.request_id = offered if REQUEST_ID.match(offered) else uuid.uuid4().hex
    return found


class RequestContext(logging.Filter):
    """Adds the request id, method and path (never the query string) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id()
        if has_request_context():
            record.method, record.path = request.method, request.path
        return True


class RedactingJsonFormatter(JsonFormatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class _Stderr(logging.StreamHandler):
    """Writes to whatever sys.stderr is when a line is logged (gunicorn, the CLI and pytest swap it)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value):
        pass


def handler(stream=None) -> logging.Handler:
    """A JSON handler with the request context and redaction, to `stream` (default: the current stderr)."""
    out = logging.StreamHandler(stream) if stream is not None else _Stderr()
    out.setFormatter(RedactingJsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"}))
    out.addFilter(RequestContext())
    return out


def init_app(app) -> None:
    """One JSON handler on our loggers (and Flask's app logger), added once per process."""
    level = app.config.get("WIDGET_LOG_LEVEL", "INFO")
    for name in ("widget_server", "hosted_signup", app.logger.name):
        logger = logging.getLogger(name)
        if not any(isinstance(h.formatter, RedactingJsonFormatter) for h in logger.handlers):
            logger.addHandler(handler())
        logger.setLevel(level)

    @app.after_request
    def echo_request_id(response):
        """Only requests that logged something carry an id worth quoting to support."""
        found = g.get("request_id")
        if found is not None:
            response.headers["X-Request-ID"] = found
        return response
