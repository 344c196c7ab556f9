"""The stylesheet of a tenant: our base CSS, the brand as custom properties, custom.css.

Only validated values reach the generated part (colours matched #rrggbb, fonts
matched a strict name pattern), so theme values cannot inject CSS.
"""
import hashlib
from pathlib import Path

BASE_CSS = Path(__file__).resolve().parent.parent / "web" / "static" / "base.css"


def brand_css(brand) -> str:
    c = brand.colors
    lines = [
        ":root{",
        f"--primary:{c['primary']};--on-primary:{c['on_primary']};",
        f"--bg:{c['background']};--surface:{c['surface']};--text:{c['text']};",
        f"--radius:{brand.radius}px;",
        f'--font:"{brand.font_family}",system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;',
        "}",
    ]
    if brand.font_file:
        lines.insert(0, f'@font-face{{font-family:"{brand.font_family}";src:url(assets/{brand.font_file}) format("woff2");font-display:swap}}')
    return "\n".join(lines) + "\n"


def build(brand, folder: Path) -> tuple[str, str]:
    """The whole stylesheet and a short content hash for its URL."""
    parts = [BASE_CSS.read_text(encoding="utf-8"), brand_css(brand)]
    custom = folder / "custom.css"
    if custom.is_file():
        parts.append("/* custom.css */\n" + custom.read_text(encoding="utf-8"))
    css = "\n".join(parts)
    return css, hashlib.sha256(css.encode()).hexdigest()[:16]
