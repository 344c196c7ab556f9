"""Tenants looked up by slug, reloaded when their files change.

A broken theme is cached as its error: that tenant answers with an error page,
every other tenant keeps serving.
"""
import os
import re
import threading
import time
from pathlib import Path

from .loader import DEFAULTS_FOLDER, Problem, ThemeInvalid, load
from .model import Tenant

SLUG = re.compile(r"^[a-z0-9][a-z0-9\-]{0,62}$")


class UnknownTenant(LookupError):
    pass


class TenantUnavailable(Exception):
    """The tenant exists but its theme is broken."""

    def __init__(self, error: ThemeInvalid):
        super().__init__(str(error))
        self.problems: list[Problem] = error.problems


class ThemeRegistry:
    def __init__(self, themes_dir: str | Path, shipped_languages: set[str], reload_seconds: float = 0):
        """`reload_seconds`: how long a looked-up tenant is served before its files are checked again."""
        self.themes_dir = Path(themes_dir)
        self.shipped_languages = set(shipped_languages)
        self.reload_seconds = reload_seconds
        self._cache: dict[str, tuple[tuple, Tenant | ThemeInvalid]] = {}
        self._checked: dict[str, float] = {}
        self._lock = threading.Lock()

    def slugs(self) -> list[str]:
        if not self.themes_dir.is_dir():
            return []
        return sorted(p.name for p in self.themes_dir.iterdir() if p.is_dir() and SLUG.match(p.name))

    def _signature(self, slug: str) -> tuple | None:
        """Modification times of every file that shapes the tenant (None: no such tenant).

        The folder's own time changes when a logo or font file is added or removed."""
        folder = os.path.join(self.themes_dir, slug)
        stamps = []
        for path, needed in ((os.path.join(folder, "theme.toml"), True), (folder, True),
                             (os.path.join(folder, "custom.css"), False),
                             (os.path.join(self.themes_dir, DEFAULTS_FOLDER, "theme.toml"), False)):
            try:
                stamps.append(os.stat(path).st_mtime_ns)
            except (FileNotFoundError, NotADirectoryError):
                if needed:
                    return None
                stamps.append(0)
        return tuple(stamps)

    def get(self, slug: str) -> Tenant:
        if not SLUG.match(slug or ""):
            raise UnknownTenant(slug)
        cached = self._cache.get(slug)
        if cached is not None and time.monotonic() - self._checked.get(slug, 0) < self.reload_seconds:
            return self._value(cached)
        signature = self._signature(slug)
        if signature is None:
            raise UnknownTenant(slug)
        cached = self._cache.get(slug)
        if cached is None or cached[0] != signature:
            with self._lock:
                cached = self._cache.get(slug)
                if cached is None or cached[0] != signature:
                    try:
                        value: Tenant | ThemeInvalid = load(self.themes_dir, slug, self.shipped_languages)
                    except ThemeInvalid as exc:
                        value = exc
                    cached = (signature, value)
                    self._cache[slug] = cached
        self._checked[slug] = time.monotonic()
        return self._value(cached)

    @staticmethod
    def _value(cached) -> Tenant:
        value = cached[1]
        if isinstance(value, ThemeInvalid):
            raise TenantUnavailable(value)
        return value

    def check(self, slug: str) -> list[Problem]:
        """Problems of one theme, read fresh from disk."""
        if not (self.themes_dir / slug / "theme.toml").is_file():
            return [Problem(f"themes/{slug}/theme.toml", "", "File not found.")]
        try:
            load(self.themes_dir, slug, self.shipped_languages)
        except ThemeInvalid as exc:
            return exc.problems
        return []
