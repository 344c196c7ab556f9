"""Unbound extensions; create_app binds them with init_app."""
from flask_babel import Babel
from flask_wtf.csrf import CSRFProtect

from .storage.database import Database
from .worker.queue import JobQueue

db = Database()
babel = Babel()
csrf = CSRFProtect()
jobs = JobQueue()

from .rate_limits import RateLimiter  # noqa: E402

limiter = RateLimiter()
