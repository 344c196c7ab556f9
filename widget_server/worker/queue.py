"""The job queue: a huey instance created unbound and wired to an app by `init_app`.

Where jobs wait comes from the app's config: Redis when REDIS_URL is set (several
workers on several machines share it), otherwise a SQLite file under the instance
folder (WIDGET_JOBS_DB), so the embedded default needs no other service.

The storage is opened on first use, not in `init_app`, so create_app writes no file
and opens no connection. Jobs declared with `job` / `periodic_job` run inside an
app context of the bound app (database session, config, translations).
"""
import functools
from pathlib import Path

from huey import Huey
from huey.storage import MemoryStorage, RedisStorage, SqliteStorage


class QueueNotBound(RuntimeError):
    """A job was enqueued or run before `init_app` bound the queue to an app."""


class JobQueue(Huey):
    def __init__(self, name: str = "widget-server"):
        self.app = None
        self._storage = None
        self._open_storage = None
        # Results are not kept: jobs write what they did to the database.
        super().__init__(name, results=False, utc=True)

    def init_app(self, app) -> None:
        config = app.config
        self.name = config.get("WIDGET_JOBS_QUEUE") or self.name
        redis_url = config.get("REDIS_URL")
        if redis_url:
            self._open_storage = functools.partial(RedisStorage, self.name, url=redis_url)
        else:
            path = Path(config["WIDGET_JOBS_DB"])

            def open_sqlite():
                path.parent.mkdir(parents=True, exist_ok=True)
                return SqliteStorage(self.name, filename=str(path))

            self._open_storage = open_sqlite
        self._storage = None
        self.app = app
        app.extensions["widget_jobs"] = self
        from . import jobs  # noqa: F401  (declares the jobs on this queue)

    # huey reads and writes `self.storage`; it is opened lazily from the bound app's config.
    def create_storage(self):
        return None

    @property
    def storage(self):
        if self._storage is None:
            if self._immediate and self.immediate_use_memory:
                self._storage = MemoryStorage(self.name)
            elif self._open_storage is None:
                raise QueueNotBound("the job queue is not bound to an app (call jobs.init_app(app))")
            else:
                self._storage = self._open_storage()
        return self._storage

    @storage.setter
    def storage(self, value):
        self._storage = value

    @property
    def backend(self) -> str:
        """'redis' or 'sqlite' (or 'memory' in immediate mode), for logs and tests."""
        return {RedisStorage: "redis", SqliteStorage: "sqlite"}.get(type(self.storage), "memory")

    def bound_app(self):
        if self.app is None:
            raise QueueNotBound("the job queue is not bound to an app (call jobs.init_app(app))")
        return self.app

    def _in_app_context(self, fn):
        @functools.wraps(fn)
        def run(*args, **kwargs):
            with self.bound_app().app_context():
                return fn(*args, **kwargs)
        return run

    def job(self, **options):
        """A task that runs inside the bound app's context: `@jobs.job()`."""
        return lambda fn: self.task(**options)(self._in_app_context(fn))

    def periodic_job(self, when, **options):
        """A periodic task; `when(datetime_utc) -> bool` may read the bound app's config."""
        return lambda fn: self.periodic_task(when, **options)(self._in_app_context(fn))
