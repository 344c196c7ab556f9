"""Where the checkout's data folders live (themes, translations, embed)."""
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
THEMES = ROOT / "themes"
TRANSLATIONS = ROOT / "translations"
EMBED = ROOT / "embed"
