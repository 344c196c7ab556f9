"""The embed scripts from embed/: embed.js for merchant pages, frame.js inside our pages."""
import hashlib
from functools import lru_cache

from flask import Blueprint, current_app, request

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


@bp.get("/embed.js")
def embed_js():
    return _script("embed.js", SHORT)


@bp.get("/frame.js")
def frame_js():
    return _script("frame.js", SHORT)
