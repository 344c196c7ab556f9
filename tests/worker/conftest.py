"""Fixtures for the worker's jobs: a private job queue and mail folder per test."""
import uuid

import pytest

from widget_server.extensions import jobs


@pytest.fixture
def worker_app(app, tmp_path):
    app.config.update(WIDGET_JOBS_DB=str(tmp_path / "jobs.sqlite3"), WIDGET_JOBS_QUEUE=f"test-{uuid.uuid4().hex[:12]}",
                      WIDGET_MAIL_DIR=str(tmp_path / "mail"))
    jobs.init_app(app)
    yield app
    jobs.flush()
