"""A tenant's generated stylesheet (content-hash URL, cached for a year) and theme files."""
from pathlib import Path

from flask import Blueprint, abort, current_app, g, redirect, send_from_directory, url_for

bp = Blueprint("tenant_assets", __name__, url_prefix="/t/<tenant_slug>")
YEAR = 365 * 24 * 3600


@bp.get("/theme-<digest>.css")
def stylesheet(digest: str):
    tenant = g.tenant
    if digest != tenant.css_hash:
        # An old page asked for a previous version: send it to the current one.
        return redirect(url_for(".stylesheet", tenant_slug=tenant.slug, digest=tenant.css_hash))
    response = current_app.response_class(tenant.css, mimetype="text/css")
    response.headers["Cache-Control"] = f"public, max-age={YEAR}, immutable"
    return response


@bp.get("/assets/<path:filename>")
def asset(filename: str):
    """Only the files the theme names (logo, font), never theme.toml or anything else."""
    tenant = g.tenant
    if filename not in {tenant.brand.logo, tenant.brand.font_file} - {None}:
        abort(404)
    response = send_from_directory(Path(tenant.folder), filename, max_age=3600)
    if filename.endswith(".svg"):
        response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    return response
