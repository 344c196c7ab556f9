"""Prometheus metrics: request latency, and the business events operators watch.

Counters of business events are counted where they become true: when a
transaction that wrote the outbox event commits (sign-ups, cancellations), and
when a webhook delivery gives up. Several gunicorn workers (and the job worker)
share their figures when PROMETHEUS_MULTIPROC_DIR names a writable folder; see
the README.

`GET /metrics` answers requests from the machine itself, or anyone sending
`Authorization: Bearer <WIDGET_METRICS_TOKEN>` when that is configured.
"""
import hmac
import os
import time

from flask import Blueprint, Response, current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from sqlalchemy import event
from sqlalchemy.orm import Session

REQUESTS = Histogram(
    "widget_request_duration_seconds", "Time to answer a request, by route and status class.",
    ["endpoint", "method", "status"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
EVENTS = Counter("widget_events_total", "Outbox events committed, by type.", ["type"])
SIGNUPS = Counter("widget_signups_total", "Completed sign-ups, by tenant.", ["tenant"])
CANCELLATIONS = Counter("widget_cancellations_total", "Cancellations requested, by tenant.", ["tenant"])
WEBHOOK_FAILURES = Counter("widget_webhook_failures_total", "Webhook deliveries given up after the last attempt.")

LOCAL = {"127.0.0.1", "::1"}
bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def metrics():
    token = current_app.config.get("WIDGET_METRICS_TOKEN")
    offered = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    allowed = hmac.compare_digest(offered, token) if token else request.remote_addr in LOCAL
    if not allowed:
        return Response("Forbidden\n", status=403, mimetype="text/plain")
    return Response(generate_latest(_registry()), mimetype=CONTENT_TYPE_LATEST)


def _registry():
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not folder:
        from prometheus_client import REGISTRY

        return REGISTRY
    from prometheus_client import multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=folder)
    return registry


def _start():
    g.metrics_started = time.perf_counter()


def _observe(response):
    started = g.get("metrics_started")
    if started is not None:
        REQUESTS.labels(request.endpoint or "unmatched", request.method, f"{response.status_code // 100}xx").observe(
            time.perf_counter() - started)
    return response


@event.listens_for(Session, "after_flush")
def _remember_events(session, _flush_context):
    from .storage.models import OutboxEvent

    new = [(obj.type, obj.tenant) for obj in session.new if isinstance(obj, OutboxEvent)]
    if new:
        session.info.setdefault("metrics_events", []).extend(new)


@event.listens_for(Session, "after_commit")
def _count_events(session):
    for kind, tenant in session.info.pop("metrics_events", ()):
        EVENTS.labels(kind).inc()
        if kind == "signup.completed":
            SIGNUPS.labels(tenant).inc()
        elif kind == "contract.cancellation_requested":
            CANCELLATIONS.labels(tenant).inc()


@event.listens_for(Session, "after_rollback")
def _forget_events(session):
    session.info.pop("metrics_events", None)


def init_app(app) -> None:
    app.before_request_funcs.setdefault(None, []).insert(0, _start)
    app.after_request(_observe)
    app.register_blueprint(bp)
