"""The service's Flask class: the coroutine check Flask makes on every call is answered once per function."""
from widget_server.flask_app import WidgetFlask


def test_a_plain_function_is_used_as_it_is_and_checked_once():
    app = WidgetFlask(__name__)

    def view():
        return "ok"

    assert app.ensure_sync(view) is view
    assert app.ensure_sync(view) is view and list(app._checked_sync) == [view]


def test_a_coroutine_function_still_gets_flasks_treatment():
    app = WidgetFlask(__name__)

    async def view():
        return "ok"

    try:
        wrapped = app.ensure_sync(view)
    except RuntimeError as refused:  # Flask without its async extra says so, as it always did
        assert "async" in str(refused)
        return
    assert wrapped is not view and wrapped() == "ok"


def test_the_app_runs_on_it(app):
    assert isinstance(app, WidgetFlask)
    assert app.test_client().get("/healthz").status_code == 200
