"""Rendered pages kept per process, with per-visitor slots filled in per request.

Rendering is most of a page's cost, yet many pages differ between requests only in
the CSRF token (and the sign-up form's submission id). Those are rendered as slots
and filled in per request. Entries belong to one Tenant object, so an edited theme
(a new object) never serves an old page. The sign-up form is kept per
tenant/plan/language/day; the portal overview per customer and what it shows
(widget_server.storage.revisions).
"""
import threading
from collections import OrderedDict

CSRF_SLOT = "__widget_csrf_slot__"
SUBMISSION_SLOT = "__widget_submission_slot__"


class PageCache:
    def __init__(self, size: int = 256):
        self.size = size
        self._pages: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, tenant, key, render) -> str:
        with self._lock:
            found = self._pages.get(key)
            if found is not None and found[0] is tenant:
                self._pages.move_to_end(key)
                return found[1]
        html = render()
        with self._lock:
            self._pages[key] = (tenant, html)
            self._pages.move_to_end(key)
            while len(self._pages) > self.size:
                self._pages.popitem(last=False)
        return html


pages = PageCache()
