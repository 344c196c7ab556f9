"""Theme files: validation with key paths, isolation of broken themes, reload on change."""
import os
import time

import pytest

from widget_server.i18n import shipped_languages
from widget_server.paths import TRANSLATIONS
from widget_server.tenants import ThemeRegistry, TenantUnavailable, UnknownTenant
from widget_server.tenants.checks import contrast


@pytest.fixture
def registry(themes_dir):
    yield ThemeRegistry(themes_dir, shipped_languages(TRANSLATIONS) | {"de", "sv", "da"})


def edit(path, old, new):
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    # make sure the mtime changes even on coarse file systems
    stamp = time.time() + 2
    os.utime(path, (stamp, stamp))


def problems_of(registry, slug="demo"):
    return [str(p) for p in registry.check(slug)]


def test_shipped_themes_are_valid(registry):
    assert registry.slugs() == ["demo", "fjord"]
    for slug in registry.slugs():
        assert registry.check(slug) == []
    demo = registry.get("demo")
    assert demo.languages == ("en", "de", "sv", "da")
    assert [p.id for p in demo.plans] == ["basic", "pro"]
    assert demo.payment_methods == ("invoice", "sepa")
    assert registry.get("fjord").languages == ("sv",)


def test_defaults_are_inherited_from_the_default_theme(registry, themes_dir):
    text = (themes_dir / "fjord" / "theme.toml").read_text()
    assert "[signup]" in text
    edit(themes_dir / "fjord" / "theme.toml", 'radius = 0\n', "")
    assert registry.get("fjord").brand.radius == 6  # from themes/_default


@pytest.mark.parametrize("old,new,expected", [
    ('primary = "#6d28d9"', 'primary = "red; }"', "themes/demo/theme.toml: brand.colors.primary: Not a colour"),
    ('font_family = "Trebuchet MS"', 'font_family = "x;} body{display:none"', "brand.font_family: Only letters"),
    ('radius = 10', 'radius = 99', "brand.radius:"),
    ('[brand.colors]', '[brand.colours]', "brand.colours: Unknown field"),
    ('type = "vat_id"', 'type = "vat"', "fields[5].type: Must be one of"),
    ('price = "9.90"', 'price = 9.9', "plans[0].price: Not a valid string"),
    ('price = "9.90"', 'price = "9.999"', "plans[0].price: EUR has 2 decimal places"),
    ('price = "9.90"', 'price = "-1"', "plans[0].price: A price must be zero or more"),
    ('interval = "month"', 'interval = "week"', "plans[0].interval: Must be one of"),
    ('currency = "EUR"', 'currency = "EURO"', "plans[0].currency: Not an ISO 4217"),
    ('default = "en"', 'default = "fr"', "languages.default: 'fr' must be one of languages.available"),
    ('available = ["en", "de", "sv", "da"]', 'available = ["en", "de", "sv", "da", "xx"]', "languages.available[4]: 'xx' is not a shipped language"),
    ('logo = "logo.svg"', 'logo = "missing.svg"', "brand.logo: File 'missing.svg' is not in the theme folder"),
    ('logo = "logo.svg"', 'logo = "../../etc/passwd"', "brand.logo: Not a file name in the theme folder"),
    ('on_primary = "#ffffff"', 'on_primary = "#7c3aed"', "brand.colors.on_primary: Contrast of on_primary on primary"),
    ('label = { en = "Your main goal", de = "Ihr Hauptziel", sv = "Ditt huvudmål", da = "Dit hovedmål" }',
     'label = { en = "Your main goal", de = "Ihr Hauptziel" }', "fields[11].label.sv: Label missing for language 'sv'"),
    ('name = "email"\ntype = "email"\nrequired = true', 'name = "email"\ntype = "email"\nrequired = false', "fields[2].required: The 'email' field must be required"),
    ('name = "phone"\ntype = "phone"', 'name = "phone"\ntype = "text"', "fields[3].type: Field 'phone' must have type 'phone'"),
    ('methods = ["invoice", "sepa"]', 'methods = ["invoice", "paypal"]', "payments.methods[1]: Must be one of"),
    ('allowed_origins = ["http://127.0.0.1:*", "http://localhost:*"]', "allowed_origins = [\"http://x.com 'unsafe-inline'\"]", "embed.allowed_origins[0]: Not an origin"),
    ('terms_url = "https://acme-fitness.example/terms"', 'terms_url = "javascript:alert(1)"', "legal.terms_url: Not a valid URL"),
    ('[legal]', '[legal\n', "themes/demo/theme.toml: Not valid TOML"),
])
def test_problems_name_file_key_and_what_is_wrong(registry, themes_dir, old, new, expected):
    edit(themes_dir / "demo" / "theme.toml", old, new)
    problems = problems_of(registry)
    assert any(expected in p for p in problems), problems


def test_a_broken_theme_takes_only_its_tenant_down(registry, themes_dir):
    registry.get("demo"), registry.get("fjord")
    edit(themes_dir / "demo" / "theme.toml", 'primary = "#6d28d9"', 'primary = "nope"')
    with pytest.raises(TenantUnavailable) as info:
        registry.get("demo")
    assert "brand.colors.primary" in str(info.value)
    assert registry.get("fjord").brand.name == "Fjord Kaffe"


def test_edits_are_seen_on_the_next_lookup(registry, themes_dir):
    before = registry.get("demo")
    edit(themes_dir / "demo" / "theme.toml", 'primary = "#6d28d9"', 'primary = "#1d4ed8"')
    after = registry.get("demo")
    assert after.brand.colors["primary"] == "#1d4ed8"
    assert after.css_hash != before.css_hash
    assert registry.get("demo") is after  # cached while unchanged


def test_custom_css_is_appended_and_changes_the_hash(registry, themes_dir):
    before = registry.get("demo").css_hash
    (themes_dir / "demo" / "custom.css").write_text(".plan{border-width:3px}")
    tenant = registry.get("demo")
    assert tenant.css.endswith(".plan{border-width:3px}") and tenant.css_hash != before


def test_unknown_and_malformed_slugs(registry):
    for slug in ("nope", "_default", "../demo", "Demo", ""):
        with pytest.raises(UnknownTenant):
            registry.get(slug)


def test_contrast_ratio_matches_wcag():
    assert round(contrast("#000000", "#ffffff"), 1) == 21.0
    assert round(contrast("#777777", "#ffffff"), 2) == 4.48


def test_lookups_within_the_reload_interval_skip_the_file_check(themes_dir):
    registry = ThemeRegistry(themes_dir, shipped_languages(TRANSLATIONS) | {"de", "sv", "da"}, reload_seconds=3600)
    before = registry.get("demo")
    edit(themes_dir / "demo" / "theme.toml", 'primary = "#6d28d9"', 'primary = "#1d4ed8"')
    assert registry.get("demo") is before
    registry.reload_seconds = 0
    assert registry.get("demo").brand.colors["primary"] == "#1d4ed8"


def test_portal_policy_is_loaded(registry):
    portal = registry.get("demo").portal
    assert portal.targets("basic") == ("pro",)
    assert portal.pause_enabled and portal.pause_max_days == 90
    assert [o.id for o in portal.offers] == ["half_price", "downgrade_basic", "pause"]
    assert portal.reason("too_expensive").offers == ("half_price", "downgrade_basic")
    assert portal.offer("half_price").percent == 50
    fjord = registry.get("fjord").portal  # no [portal] table: the defaults
    assert fjord.targets("bas") == () and not fjord.pause_enabled and fjord.cancellation_enabled


@pytest.mark.parametrize("old,new,expected", [
    ('locked_fields = ["birth_date"]', 'locked_fields = ["shoe_size"]', "portal.locked_fields[0]: There is no field 'shoe_size'"),
    ('basic = ["pro"]', 'basic = ["gold"]', "portal.plan_changes.basic[0]: 'gold' is not another plan"),
    ('downgrade = "period_end"', 'downgrade = "later"', "portal.downgrade: Must be one of"),
    ('offers = ["pause"]', 'offers = ["free_month"]', "portal.cancellation.reasons[1].offers[0]: There is no offer 'free_month'"),
    ('percent = 50\n', '', "portal.cancellation.offers[0]: A discount offer needs percent and periods"),
    ('plan = "basic"', 'plan = "gold"', "portal.cancellation.offers[1].plan: A downgrade offer needs"),
    ('max_days = 90', 'max_days = 900', "portal.pause.max_days:"),
    ('label = { en = "I am moving away", de = "Ich ziehe weg", sv = "Jag flyttar", da = "Jeg flytter" }',
     'label = { en = "I am moving away" }', "portal.cancellation.reasons[2].label.de: Label missing"),
])
def test_portal_policy_problems_name_the_key(registry, themes_dir, old, new, expected):
    edit(themes_dir / "demo" / "theme.toml", old, new)
    assert any(expected in p for p in problems_of(registry)), problems_of(registry)
