"""The embed scripts from embed/: embed.js for merchant pages, frame.js inside our pages,
and the cookie round trip frame.js uses to find out whether the browser keeps our cookie in a frame.

embed.js is served twice: at /embed.js, cached for minutes so merchants get fixes, and at
/embed.<content hash>.js, cached for a year, for merchants who pin a version.
"""
import hashlib
from functools import lru_cache

from flask import Blueprint, abort, current_app, jsonify, request

from ..paths import EMBED

bp = Blueprint("embed", __name__)
SHORT = 300
YEAR = 365 * 24 * 3600


@lru_cache(maxsize=8)
def _read(name: str) -> tuple[str, str]:
    text = (EMBED / name).read_text(encoding="utf-8")
    return text, hashlib.sha256(text.encode()).hexdigest()[:12]


def _script(name: str, max_age: int):
    text, digest = _read(name) if not current_app.debug else _read.__wrapped__(name)
    response = current_app.response_class(text, mimetype="text/javascript")
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.set_etag(digest)
    return response.make_conditional(request)


PROBE_COOKIE = "__Host-widget_probe"


@bp.get("/embed.js")
def embed_js():
    response = _script("embed.js", SHORT)
    response.headers["Link"] = f'<{versioned_url()}>; rel="canonical"'
    return response


@bp.get("/embed.<digest>.js")
def embed_js_versioned(digest: str):
    if digest != _digest("embed.js"):
        abort(404)
    response = _script("embed.js", YEAR)
    response.headers["Cache-Control"] += ", immutable"
    return response


def _digest(name: str) -> str:
    return (_read(name) if not current_app.debug else _read.__wrapped__(name))[1]


def versioned_url() -> str:
    return f"/embed.{_digest('embed.js')}.js"


@bp.get("/embed/cookie-probe")
def cookie_probe():
    """First call: store a cookie the way the session cookie is stored. `?check=1`: did it come back?"""
    if request.args.get("check"):
        response = jsonify(stored=request.cookies.get(PROBE_COOKIE) == "1")
    else:
        response = current_app.response_class(status=204)
        config = current_app.config
        response.set_cookie(PROBE_COOKIE, "1", max_age=300, path="/", secure=config["SESSION_COOKIE_SECURE"],
                            httponly=True, samesite=config["SESSION_COOKIE_SAMESITE"],
                            partitioned=config["SESSION_COOKIE_PARTITIONED"])
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/frame.js")
def frame_js():
    return _script("frame.js", SHORT)
