"""Fixtures for fault tests: a PostgreSQL database of their own, reached through a TCP proxy that
can go dark (the database as the service sees it during a restart or a network cut)."""
import socket
import threading

import pytest
from sqlalchemy import create_engine, text

from widget_server.storage.migrate import upgrade

POSTGRES = ("127.0.0.1", 5432)
FAULTS_DB = "widget_faults"


class Outage:
    """Forwards 127.0.0.1:<port> to PostgreSQL until cut(): then every open connection is dropped
    and new ones are refused, until restore()."""

    def __init__(self, target=POSTGRES):
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.down = threading.Event()
        self.lock = threading.Lock()
        self.open: list[socket.socket] = []
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.down.is_set():
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self):
        self.down.set()
        with self.lock:
            for s in self.open:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                    s.close()
                except OSError:
                    pass
            self.open.clear()

    def restore(self):
        self.down.clear()

    def close(self):
        self.closed = True
        self.cut()
        self.listener.close()


@pytest.fixture
def faults_database():
    """A fresh, migrated PostgreSQL database of the fault tests' own (whatever DATABASE_URL the suite runs on)."""
    admin = create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {FAULTS_DB} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {FAULTS_DB}"))
    admin.dispose()
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{FAULTS_DB}"
    upgrade(url)
    yield url


@pytest.fixture
def outage():
    proxy = Outage()
    yield proxy
    proxy.close()


class Instance:
    """`gunicorn widget_server:create_app()` in its own process, on a port the kernel picked."""

    def __init__(self, env: dict, log_path, workers: int = 1):
        import re
        import subprocess
        import sys
        import time

        self.log_path = log_path
        with open(log_path, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "--no-control-socket", "--bind", "127.0.0.1:0", "--workers", str(workers),
                 "--graceful-timeout", "2", "widget_server:create_app()"],
                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            found = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", log_path.read_text(errors="replace"))
            if found:
                self.port = int(found.group(1))
                self.url = f"http://127.0.0.1:{self.port}"
                return
            assert self.process.poll() is None, log_path.read_text()
            time.sleep(0.1)
        raise AssertionError("gunicorn did not start:\n" + log_path.read_text())

    def stop(self):
        import os
        import signal

        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=20)


@pytest.fixture
def instance_env(app, database_url, themes_dir, tmp_path):
    """Environment for service processes over the suite's database, like a production deployment."""
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("WIDGET_", "REDIS_", "DATABASE_"))}
    env.update({"DATABASE_URL": database_url, "WIDGET_SECRET_KEY": app.config["SECRET_KEY"],
                "WIDGET_THEMES_DIR": str(themes_dir), "WIDGET_PUBLIC_URL": app.config["WIDGET_PUBLIC_URL"],
                "WIDGET_INSTANCE_PATH": str(tmp_path / "instance"), "PYTHONDONTWRITEBYTECODE": "1"})
    yield env
