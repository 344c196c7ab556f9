"""Read one tenant's theme.toml (over themes/_default/theme.toml) into a Tenant."""
import tomllib
from dataclasses import dataclass
from pathlib import Path

from marshmallow import ValidationError

from . import checks, css
from .model import Billing, Brand, Field, Offer, Option, Plan, Portal, Reason, Tenant
from .schema import ThemeSchema

DEFAULTS_FOLDER = "_default"


@dataclass(frozen=True)
class Problem:
    file: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.path}: {self.message}" if self.path else f"{self.file}: {self.message}"


class ThemeInvalid(Exception):
    def __init__(self, slug: str, problems: list[Problem]):
        super().__init__("; ".join(map(str, problems)))
        self.slug = slug
        self.problems = problems


def flatten(errors, prefix: str = "") -> list[tuple[str, str]]:
    """marshmallow's nested error dict as (key path, message) pairs."""
    out: list[tuple[str, str]] = []
    if isinstance(errors, dict):
        for key, value in errors.items():
            if key == "_schema":
                path = prefix
            elif isinstance(key, int):
                path = f"{prefix}[{key}]"
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
            out.extend(flatten(value, path))
    elif isinstance(errors, list):
        for item in errors:
            out.extend(flatten(item, prefix) if isinstance(item, (dict, list)) else [(prefix, str(item))])
    else:
        out.append((prefix, str(errors)))
    return out


def merge(base: dict, override: dict) -> dict:
    """Tables merge key by key; anything else (arrays included) is replaced."""
    result = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merge(result[key], value)
        else:
            result[key] = value
    return result


def _read_toml(path: Path, shown: str) -> dict:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ThemeInvalid(path.parent.name, [Problem(shown, "", "File not found.")])
    except tomllib.TOMLDecodeError as exc:
        raise ThemeInvalid(path.parent.name, [Problem(shown, "", f"Not valid TOML: {exc}")])
    except (OSError, UnicodeDecodeError) as exc:
        raise ThemeInvalid(path.parent.name, [Problem(shown, "", f"Cannot be read: {exc}")])


def load(themes_dir: Path, slug: str, shipped_languages: set[str]) -> Tenant:
    folder = themes_dir / slug
    shown = f"themes/{slug}/theme.toml"
    raw = _read_toml(folder / "theme.toml", shown)
    defaults_file = themes_dir / DEFAULTS_FOLDER / "theme.toml"
    if defaults_file.is_file():
        raw = merge(_read_toml(defaults_file, f"themes/{DEFAULTS_FOLDER}/theme.toml"), raw)
    try:
        data = ThemeSchema().load(raw)
    except ValidationError as exc:
        raise ThemeInvalid(slug, [Problem(shown, p, m) for p, m in flatten(exc.messages)])
    problems = checks.check(data, folder, shipped_languages)
    if problems:
        raise ThemeInvalid(slug, [Problem(shown, p, m) for p, m in problems])
    return build(slug, folder, data)


def build(slug: str, folder: Path, data: dict) -> Tenant:
    b = data["brand"]
    brand = Brand(
        name=b["name"], colors=b["colors"], font_family=b["font_family"], radius=b["radius"],
        logo=b.get("logo"), font_file=b.get("font_file"),
    )
    stylesheet, css_hash = css.build(brand, folder)
    payments = data["payments"]
    sepa = payments.get("sepa") or {}
    return Tenant(
        slug=slug,
        folder=str(folder),
        brand=brand,
        default_language=data["languages"]["default"],
        languages=tuple(data["languages"]["available"]),
        texts=data["texts"],
        fields=tuple(
            Field(
                name=f["name"], type=f["type"], required=f["required"], max_length=f.get("max_length"),
                label=f["label"], help=f["help"],
                options=tuple(Option(value=o["value"], label=o["label"]) for o in f["options"]),
            )
            for f in data["fields_"]
        ),
        plans=tuple(
            Plan(
                id=p["id"], name=p["name"], description=p["description"], price=p["price"],
                currency=p["currency"], interval=p["interval"], trial_days=p["trial_days"],
                setup_fee=p["setup_fee"], minimum_term_months=p["minimum_term_months"],
                notice_period_days=p["notice_period_days"],
            )
            for p in data["plans"]
        ),
        payment_methods=tuple(payments["methods"]),
        default_country=data["signup"]["default_country"],
        sepa_creditor_id=sepa.get("creditor_id"),
        sepa_creditor_name=sepa.get("creditor_name"),
        terms_url=data["legal"]["terms_url"],
        privacy_url=data["legal"]["privacy_url"],
        embed_origins=tuple(data["embed"]["allowed_origins"]),
        contact=data["contact"],
        billing=_billing(data["billing"]),
        portal=_portal(data["portal"]),
        css=stylesheet,
        css_hash=css_hash,
    )


def _billing(b: dict) -> Billing:
    return Billing(
        invoice_prefix=b["invoice_prefix"], tax_rate=b["tax_rate"], prices_include_tax=b["prices_include_tax"],
        seller=b["seller"], timezone=b["timezone"], payment_terms_days=b["payment_terms_days"],
        bank=b.get("bank"), dunning_days=tuple(b["dunning_days"]),
    )


def _portal(p: dict) -> Portal:
    pause, cancellation = p["pause"], p["cancellation"]
    return Portal(
        link_minutes=p["link_minutes"], locked_fields=tuple(p["locked_fields"]),
        plan_changes={plan: tuple(targets) for plan, targets in p["plan_changes"].items()},
        downgrade=p["downgrade"], keep_last_payment_method=p["keep_last_payment_method"],
        pause_enabled=pause["enabled"], pause_max_days=pause["max_days"],
        cancellation_enabled=cancellation["enabled"],
        reasons=tuple(Reason(id=r["id"], label=r["label"], offers=tuple(r["offers"])) for r in cancellation["reasons"]),
        offers=tuple(Offer(id=o["id"], type=o["type"], text=o["text"], percent=o.get("percent"),
                           periods=o.get("periods"), plan=o.get("plan")) for o in cancellation["offers"]),
    )
