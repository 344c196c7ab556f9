"""Rendered sign-up pages that are the same for every visitor, kept per process.

Rendering the form (its fields, the localized country list) is most of a
request's cost, yet without a prefill or errors the page differs between
visitors only in the CSRF token and the submission id. Those are rendered as
slots and filled in per request. Entries belong to one Tenant object, so an
edited theme (a new object) never serves an old page.
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
