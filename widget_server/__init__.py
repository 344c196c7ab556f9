"""widget-server: hosted sign-up pages and a customer portal, embeddable anywhere.

create_app only wires things together: no migrations, no network, no files written.
"""
import os

from flask import Flask

from . import config as settings
from .extensions import babel, csrf, db, jobs
from .flask_app import WidgetFlask
from .i18n import select_locale, shipped_languages
from .tenants import ThemeRegistry
from .web.session import SigningSessionInterface


def create_app(config: dict | None = None) -> Flask:
    app = WidgetFlask(__name__, instance_path=os.environ.get("WIDGET_INSTANCE_PATH") or None,
                template_folder="web/templates", static_folder="web/static")
    app.config.from_mapping(settings.from_env(app.instance_path))
    if config:
        app.config.update(config)
    settings.check(app.config)

    db.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    csrf.init_app(app)
    jobs.init_app(app)
    from .extensions import limiter
    limiter.init_app(app)
    languages = shipped_languages(app.config["BABEL_TRANSLATION_DIRECTORIES"])
    app.extensions["widget_languages"] = languages
    app.extensions["widget_themes"] = ThemeRegistry(app.config["WIDGET_THEMES_DIR"], languages,
                                                    reload_seconds=app.config["WIDGET_THEME_RELOAD_SECONDS"])
    app.session_interface = SigningSessionInterface()

    from . import metrics
    from .web import errors, headers, pages, request_log, tenant_context
    metrics.init_app(app)
    request_log.init_app(app)
    errors.init_app(app)
    headers.init_app(app)
    pages.init_app(app)
    tenant_context.init_app(app)

    from hosted_signup import bp as signup_bp
    from .api import bp as api_bp, init_app as init_api
    from .portal import bp as portal_bp
    from .payments import stripe_webhooks
    from .web.embed_files import bp as embed_bp
    from .web.health import bp as health_bp
    from .web.tenant_assets import bp as assets_bp
    app.register_blueprint(signup_bp)
    app.register_blueprint(portal_bp)
    app.register_blueprint(assets_bp)
    app.register_blueprint(embed_bp)
    app.register_blueprint(health_bp)
    init_api(app, api_bp)
    stripe_webhooks.init_app(app)

    from . import cli
    cli.init_app(app)
    return app
