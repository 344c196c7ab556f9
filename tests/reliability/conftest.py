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
