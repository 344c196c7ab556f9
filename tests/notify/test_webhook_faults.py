"""A job worker killed (SIGKILL) in the middle of a webhook delivery: the delivery is made later,
by a new worker, with the same event id, so merchants can tell it is the same event."""
import os
import signal
import subprocess
import sys
import threading
import time

from sqlalchemy import select

from widget_server.extensions import jobs
from widget_server.notify import outbox
from widget_server.notify import webhook_signature
from widget_server.storage.models import WebhookAttempt, WebhookDelivery
from widget_server.worker import jobs as job_functions

from .test_webhooks import add_endpoint


def start_worker(app, database_url, themes_dir, tmp_path, name):
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("WIDGET_", "REDIS_"))},
        "DATABASE_URL": database_url, "WIDGET_THEMES_DIR": str(themes_dir),
        "WIDGET_MAIL_DIR": app.config["WIDGET_MAIL_DIR"], "WIDGET_JOBS_DB": app.config["WIDGET_JOBS_DB"],
        "WIDGET_JOBS_QUEUE": app.config["WIDGET_JOBS_QUEUE"], "WIDGET_INSTANCE_PATH": str(tmp_path / "instance"),
        "WIDGET_WEBHOOK_TIMEOUT": "2", "WIDGET_WEBHOOK_LEASE_MARGIN": "1",
    }
    log = open(tmp_path / f"{name}.log", "wb")
    worker = subprocess.Popen([sys.executable, "-c", "from widget_server.cli import main; main()", "worker", "--threads", "1"],
                              env=env, stdout=log, stderr=subprocess.STDOUT, cwd=str(tmp_path), start_new_session=True)
    log.close()
    return worker


def wait_until(condition, seconds, message):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, message()
        time.sleep(0.1)


def test_a_worker_killed_mid_delivery_leaves_it_for_the_next_with_the_same_event_id(
        app, session, receiver, customer_contract, database_url, themes_dir, tmp_path):
    hook = receiver()
    hook.hold = threading.Event()
    add_endpoint(app, "demo", hook.url)
    customer_contract()
    outbox.dispatch(session)
    first = start_worker(app, database_url, themes_dir, tmp_path, "worker-1")
    second = None
    try:
        job_functions.deliver_webhooks()  # queued; the worker takes it at once
        wait_until(lambda: len(hook.requests) == 1, 40, lambda: (tmp_path / "worker-1.log").read_text())
        os.killpg(first.pid, signal.SIGKILL)  # in the middle of the request: no answer, nothing recorded
        first.wait(timeout=10)
        hook.hold.set()
        session.expire_all()
        delivery = session.scalars(select(WebhookDelivery)).one()
        assert (delivery.status, delivery.attempts) == ("pending", 0)

        second = start_worker(app, database_url, themes_dir, tmp_path, "worker-2")
        time.sleep(3.5)  # the dead worker's claim runs out (timeout 2 s + margin 1 s)
        job_functions.deliver_webhooks()
        wait_until(lambda: len(hook.requests) == 2, 40, lambda: (tmp_path / "worker-2.log").read_text())

        def delivered():
            session.rollback()  # a fresh snapshot each time
            return session.scalars(select(WebhookDelivery.status)).one() == "delivered"

        wait_until(delivered, 20, lambda: (tmp_path / "worker-2.log").read_text())
    finally:
        hook.hold.set()
        for worker in (first, second):
            if worker is not None and worker.poll() is None:
                os.killpg(worker.pid, signal.SIGTERM)
                worker.wait(timeout=20)
        jobs.flush()
    ids = [r["headers"][webhook_signature.EVENT_ID_HEADER] for r in hook.requests]
    assert len(ids) == 2 and ids[0] == ids[1] and ids[0].startswith("evt_")
    assert hook.requests[0]["body"] == hook.requests[1]["body"]
    attempts = session.scalars(select(WebhookAttempt)).all()
    assert [(a.attempt, a.status_code) for a in attempts] == [(1, 200)]  # the killed try left no record
