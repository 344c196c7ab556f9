"""Rendered pages kept per process, with per-visitor slots filled in per request.

Rendering is most of a page's cost, yet many pages differ between requests only in
the CSRF token (and the sign-up form's submission id). Those are rendered as slots
and filled in per request. Entries belong to one Tenant object, so an edited theme
(a new object) never serves an old page. The sign-up form is kept per
tenant/plan/language/day; the portal overview per customer and what it shows
(widget_server.storage.revisions).
"""
import re
import threading
from collections import OrderedDict

CSRF_SLOT = "__widget_csrf_slot__"
SUBMISSION_SLOT = "__widget_submission_slot__"
_SLOTS = {CSRF_SLOT: "csrf", SUBMISSION_SLOT: "submission"}
_SLOT = re.compile("(" + "|".join(_SLOTS) + ")")


class PageCache:
    def __init__(self, size: int = 256):
        self.size = size
        self._pages: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, tenant, key, render, **slots: str) -> str:
        """The page for `key`, rendered by `render()` once per Tenant object, with its slots filled
        from `slots` (csrf=..., submission=...). Pages are kept split at their slots, so filling
        them is one join rather than a search through the whole page per slot."""
        with self._lock:
            found = self._pages.get(key)
            if found is not None and found[0] is tenant:
                self._pages.move_to_end(key)
                parts = found[1]
            else:
                parts = None
        if parts is None:
            parts = tuple(_SLOTS.get(part, part) if i % 2 else part for i, part in enumerate(_SLOT.split(render())))
            with self._lock:
                self._pages[key] = (tenant, parts)
                self._pages.move_to_end(key)
                while len(self._pages) > self.size:
                    self._pages.popitem(last=False)
        return "".join([slots[part] if i % 2 else part for i, part in enumerate(parts)])


pages = PageCache()
