"""Rate limits (Flask-Limiter), counted where every web process sees them.

In memory by default (one process, `make run`); in Redis when REDIS_URL is set, so
several gunicorn workers and machines share one count. `RATELIMIT_KEY_PREFIX`
separates deployments (and tests) sharing one Redis.

What is limited: the portal's e-mail sign-in (per address and per IP, portal/login.py),
the sign-up form's POST (per IP, `signup_post`), and the merchant API (per API key,
`api_limit` on its blueprint). Flask-Limiter hooks into every request of the app; here
its hooks run only for the API blueprint, which is limited as a whole: decorated views
and `signup_post` check themselves, and the sign-up page, its busiest page, pays nothing.
"""
import hashlib
from functools import lru_cache, partial

from flask import current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import parse_many
from werkzeug.exceptions import TooManyRequests

LIMITED_BLUEPRINTS = ("api",)


class RateLimiter(Limiter):
    def __init__(self):
        # No default limits: only the routes that say so are limited.
        super().__init__(key_func=get_remote_address)

    def init_app(self, app) -> None:
        app.config.setdefault("RATELIMIT_STORAGE_URI", app.config.get("REDIS_URL") or "memory://")
        app.config.setdefault("RATELIMIT_KEY_PREFIX", "widget-server")
        # Flask-Limiter keeps the first prefix it saw; an app created later (tests) brings its own.
        self._key_prefix = app.config["RATELIMIT_KEY_PREFIX"]
        super().init_app(app)
        self._hooks_for_limited_blueprints_only(app)

    def _hooks_for_limited_blueprints_only(self, app) -> None:
        def ours(hook) -> bool:
            target = hook.func if isinstance(hook, partial) else hook
            return getattr(target, "__self__", None) is self or (isinstance(hook, partial) and self in hook.args)

        for hooks in (app.before_request_funcs, app.after_request_funcs, app.teardown_request_funcs):
            moved = [hook for hook in hooks.get(None, []) if ours(hook)]
            hooks[None] = [hook for hook in hooks.get(None, []) if not ours(hook)]
            for blueprint in LIMITED_BLUEPRINTS:
                hooks.setdefault(blueprint, [])[:0] = moved

    def signup_post(self) -> None:
        """Count a sign-up POST of this client; 429 past the limit.

        Straight to the counters: Flask-Limiter's `with limiter.limit(...)` inspects the call stack
        every time, which cost about a millisecond per sign-up."""
        client = get_remote_address() or ""
        for item in _parsed(current_app.config["WIDGET_SIGNUP_RATE_LIMIT"]):
            if not self.limiter.hit(item, self._key_prefix, "signup-post", client):
                raise TooManyRequests()


@lru_cache(maxsize=8)
def _parsed(limits: str) -> tuple:
    return tuple(parse_many(limits))


def api_caller() -> str:
    """Merchant API calls count per key (hashed), anonymous ones per client address."""
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer ") and len(header) > 7:
        return "api-key:" + hashlib.sha256(header[7:].encode()).hexdigest()[:32]
    return "api-ip:" + (get_remote_address() or "")


def api_limit() -> str:
    return current_app.config["WIDGET_API_RATE_LIMIT"]
