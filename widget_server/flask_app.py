"""The Flask class the service runs on: Flask, with per-request work whose answer never changes done once."""
from flask import Flask


class WidgetFlask(Flask):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._checked_sync: dict = {}

    def ensure_sync(self, func):
        """Flask asks for every hook and view, on every request, whether it is a coroutine function.
        The answer never changes for a function, so it is looked up once (a few per cent of a cached page)."""
        try:
            return self._checked_sync[func]
        except KeyError:
            found = self._checked_sync[func] = super().ensure_sync(func)
            return found
        except TypeError:  # an unhashable callable: ask every time
            return super().ensure_sync(func)
