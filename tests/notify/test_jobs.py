"""The job queue: SQLite by default, Redis when REDIS_URL is set, and a real `widget-server worker`."""
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from widget_server import config as settings
from widget_server import create_app
from widget_server.extensions import jobs
from widget_server.notify import outbox
from widget_server.paths import ROOT
from widget_server.storage.models import EmailMessage, Invoice
from widget_server.worker import jobs as job_functions
from widget_server.worker.queue import JobQueue, QueueNotBound




@pytest.fixture
def redis_url(redis_server):
    """The job queue's Redis database in these tests."""
    yield redis_server + "/0"


def test_an_unbound_queue_refuses_work():
    queue = JobQueue("unbound")
    with pytest.raises(QueueNotBound):
        queue.storage


def test_create_app_writes_no_queue_file_and_the_default_is_sqlite_under_instance(database_url, themes_dir, tmp_path):
    defaults = settings.from_env(str(tmp_path / "instance"), environ={})
    assert defaults["WIDGET_JOBS_DB"] == str(tmp_path / "instance" / "jobs.sqlite3")
    assert defaults["REDIS_URL"] is None
    path = tmp_path / "queue" / "jobs.sqlite3"
    app = create_app({"DATABASE_URL": database_url, "WIDGET_THEMES_DIR": str(themes_dir), "WIDGET_JOBS_DB": str(path),
                      "WIDGET_JOBS_QUEUE": f"test-{uuid.uuid4().hex[:8]}", "REDIS_URL": None})
    assert app.extensions["widget_jobs"] is jobs
    assert not path.exists()
    job_functions.send_emails()
    assert jobs.backend == "sqlite" and path.exists()
    assert jobs.pending_count() == 1
    jobs.flush()


def test_jobs_go_through_redis_when_redis_url_is_set(app, redis_url):
    import redis
    app.config["REDIS_URL"] = redis_url
    jobs.init_app(app)
    try:
        assert jobs.backend == "redis"
        job_functions.send_emails()
        job_functions.dispatch_outbox()
        raw = redis.Redis.from_url(redis_url)
        assert raw.llen(jobs.storage.queue_key) == 2  # the jobs are in Redis itself
        task = jobs.dequeue()
        assert task.name == "send_emails"
        assert raw.llen(jobs.storage.queue_key) == 1
    finally:
        jobs.flush()


def test_time_of_day_settings_are_checked():
    assert settings.from_env("/tmp/x", environ={"WIDGET_BILLING_RUN_AT": "3:05"})["WIDGET_BILLING_RUN_AT"] == "03:05"
    for bad in ("25:00", "noon", "12:60"):
        with pytest.raises(settings.ConfigError):
            settings.from_env("/tmp/x", environ={"WIDGET_DUNNING_RUN_AT": bad})


def test_billing_and_dunning_run_daily_at_the_configured_time(app):
    def runs_at(job, hour, minute):
        return job.s().validate_datetime(datetime(2026, 3, 1, hour, minute))

    assert runs_at(job_functions.billing_run, 2, 0) and not runs_at(job_functions.billing_run, 2, 1)
    assert runs_at(job_functions.dunning_run, 7, 0) and not runs_at(job_functions.dunning_run, 2, 0)
    app.config["WIDGET_BILLING_RUN_AT"] = "23:30"
    assert runs_at(job_functions.billing_run, 23, 30) and not runs_at(job_functions.billing_run, 2, 0)
    assert all(runs_at(job, 13, 17) for job in (job_functions.dispatch_outbox, job_functions.deliver_webhooks,
                                                 job_functions.send_emails))


def test_the_billing_job_bills_like_the_command_and_queues_the_invoice_emails(app, session, customer_contract):
    today = app.extensions["widget_themes"].get("demo").today()  # the job bills up to the tenant's day
    contract = customer_contract(on=today)
    jobs.flush()
    job_functions.billing_run.call_local()
    session.expire_all()
    assert session.scalars(select(Invoice).where(Invoice.contract_id == contract.id)).one().issue_date == today
    assert [t.name for t in jobs.pending()] == ["dispatch_outbox"]
    job_functions.billing_run.call_local()  # idempotent, like `billing run`
    assert len(session.scalars(select(Invoice)).all()) == 1
    jobs.flush()


def test_procfile_runs_the_worker():
    lines = (ROOT / "Procfile").read_text().splitlines()
    assert "worker: widget-server worker" in lines


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
def test_the_worker_process_runs_queued_jobs(app, session, customer_contract, database_url, themes_dir, tmp_path,
                                             request, backend):
    """`widget-server worker` in its own process picks up a job this process enqueued."""
    if backend == "redis":
        app.config["REDIS_URL"] = request.getfixturevalue("redis_url")
        jobs.init_app(app)
    customer_contract()
    outbox.dispatch(session)
    assert session.scalars(select(EmailMessage)).one().status == "pending"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("WIDGET_", "REDIS_"))},
        "DATABASE_URL": database_url, "WIDGET_THEMES_DIR": str(themes_dir),
        "WIDGET_MAIL_DIR": app.config["WIDGET_MAIL_DIR"], "WIDGET_JOBS_DB": app.config["WIDGET_JOBS_DB"],
        "WIDGET_JOBS_QUEUE": app.config["WIDGET_JOBS_QUEUE"], "WIDGET_PDF_CACHE_DIR": app.config["WIDGET_PDF_CACHE_DIR"],
        "WIDGET_INSTANCE_PATH": str(tmp_path / "instance"),
    }
    if backend == "redis":
        env["REDIS_URL"] = app.config["REDIS_URL"]
    log_path = tmp_path / "worker.log"
    with open(log_path, "wb") as log:
        worker = subprocess.Popen([sys.executable, "-c", "from widget_server.cli import main; main()", "worker"],
                                  env=env, stdout=log, stderr=subprocess.STDOUT, cwd=str(tmp_path))
    try:
        job_functions.send_emails()
        mail_dir = Path(app.config["WIDGET_MAIL_DIR"])
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and not list(mail_dir.glob("*.eml")):
            assert worker.poll() is None, log_path.read_text()
            time.sleep(0.2)
        assert [p.name.endswith("signup_confirmation.eml") for p in mail_dir.glob("*.eml")] == [True], log_path.read_text()
    finally:
        worker.send_signal(signal.SIGINT)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        jobs.flush()
    output = log_path.read_text()
    assert f"jobs queued in {backend}" in output
    session.expire_all()
    assert session.scalars(select(EmailMessage)).one().status == "sent"
