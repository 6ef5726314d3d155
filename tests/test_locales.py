"""Localisation checks: complete catalogues, placeholders kept, template current,
no English left in a rendered decision, negotiation as users expect."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from babel import Locale
from babel.messages.extract import extract_from_dir
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po

from engine import Snapshot
from engine.coverage import required_messages
from engine.localise import Localiser
from engine.render import render_decision

ROOT = Path(__file__).resolve().parents[1]
LOCALES = ROOT / "locales"
PO_FILES = sorted(LOCALES.glob("*/LC_MESSAGES/messages.po"))
REQUIRED = ["bg", "hr", "cs", "da", "nl", "et", "fi", "fr", "de", "el", "hu", "ga", "it", "lv", "lt",
            "mt", "pl", "pt", "ro", "sk", "sl", "es", "sv", "is", "nb", "fr_CA"]
PLACEHOLDER = re.compile(r"\{[a-z_]+\}")
DAY = date(2026, 11, 22)


def _read(path: Path):
    with path.open("rb") as handle:
        return read_po(handle, locale=path.parent.parent.name)


def _ids(catalog) -> set:
    return {(m.context, m.id if isinstance(m.id, str) else m.id[0]) for m in catalog if m.id}


@pytest.fixture(scope="module")
def localiser() -> Localiser:
    return Localiser(LOCALES)


@pytest.fixture(scope="module")
def snap(shipped_snapshot: Snapshot) -> Snapshot:
    return shipped_snapshot  # the session's compile of the shipped rules (tests/conftest.py)


def test_every_required_language_is_shipped():
    shipped = {p.parent.parent.name for p in PO_FILES}
    assert not set(REQUIRED) - shipped


@pytest.mark.parametrize("path", PO_FILES, ids=lambda p: p.parent.parent.name)
def test_catalogue_complete_without_fuzzy(path):
    catalog = _read(path)
    missing = [m.context for m in catalog if m.id and (
        m.fuzzy or not (all(m.string) if isinstance(m.string, tuple) else m.string))]
    assert not missing, f"untranslated or fuzzy: {missing}"


@pytest.mark.parametrize("path", PO_FILES, ids=lambda p: p.parent.parent.name)
def test_translations_keep_exactly_the_placeholders(path):
    bad = []
    for m in _read(path):
        if not m.id:
            continue
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        want = set().union(*(PLACEHOLDER.findall(i) for i in ids))
        for s in strings:
            if set(PLACEHOLDER.findall(s)) != want:
                bad.append((m.context, s))
    assert not bad


def test_template_is_up_to_date_with_the_rule_files():
    """The equivalent of `pybabel extract` + `pybabel update --check`."""
    method_map = [("rules/catalog.yaml", "rightsgate_rules"),
                  ("rules/jurisdictions.yaml", "rightsgate_rules"),
                  ("engine/phrases.py", "python"), ("engine/ui_strings.py", "python")]
    fresh = set()
    for _file, _line, message, _comments, context in extract_from_dir(str(ROOT), method_map):
        fresh.add((context, message if isinstance(message, str) else message[0]))
    template = _ids(_read_pot())
    assert fresh == template, (
        f"locales/messages.pot is stale: new {sorted(fresh - template)[:5]}, "
        f"gone {sorted(template - fresh)[:5]}; run: pybabel extract -F babel.cfg --no-location "
        "--sort-output --omit-header -o locales/messages.pot .")


def _read_pot():
    with (LOCALES / "messages.pot").open("rb") as handle:
        return read_po(handle)


@pytest.mark.parametrize("path", PO_FILES, ids=lambda p: p.parent.parent.name)
def test_catalogue_matches_the_template(path):
    assert _ids(_read(path)) == _ids(_read_pot()), "run pybabel update and translate the new strings"


def test_every_shipped_locale_is_100_percent(localiser):
    for tag, shipped in localiser.locales.items():
        assert shipped.completeness == 100.0, tag


# Words that are the same in every language: acronyms and proper names.
PROPER = re.compile(r"\b(GDPR|UK|CCPA|CPRA|COPPA|PIPEDA|PIPA|FADP|GPC|EEA|CNIL|ICO|EDPB|URL|[A-Z]{2,})\b")


def _english_leftovers(body: dict, english: dict) -> list[str]:
    leftovers = []
    texts = [body["age_gate"]["title"], body["age_gate"]["text"]]
    for section in ("rights", "opt_outs", "notices"):
        for item in body[section]:
            texts += [item["title"], item.get("text") or item.get("description")]
            if item.get("response"):
                texts.append(item["response"]["text"])
    for text in texts:
        if text in english:
            leftovers.append(text)
    return leftovers


@pytest.mark.parametrize("tag", sorted(set(Localiser(LOCALES).locales) - {"en", "en-US"}))
def test_rendered_decision_has_no_english_leftovers(snap, localiser, tag):
    english = {e.title for e in snap.ruleset.catalog.values()} | {
        e.text for e in snap.ruleset.catalog.values()}
    english |= {"1 month, extendable by 2 months", "30 days", "45 days, extendable by 45 days"}
    for code in ("DE", "GB", "CH", "US-CA", "CA-QC", "CA-BC", "DEFAULT", "EEA"):
        for age, gpc in ((14, True), (17, False), (None, False)):
            resolution = snap.resolve(code)
            decision = snap.decide(resolution.code, age, gpc, DAY)
            body = render_decision(snap, localiser, decision, resolution, tag, DAY, gpc)
            assert body["locale"] == tag
            assert body["fallbacks"] == [], body["fallbacks"]
            assert not _english_leftovers(body, english), (code, age)


def test_english_is_served_as_the_source(snap, localiser):
    resolution = snap.resolve("AT")
    body = render_decision(snap, localiser, snap.decide("AT", 13, False, DAY), resolution, "en", DAY, False)
    assert body["age_gate"]["text"].startswith("Because you are under 14,")
    assert body["fallbacks"] == []


@pytest.mark.parametrize("preferences, served", [
    (["fr-CA"], "fr-CA"), (["fr-BE"], "fr"), (["fr-FR", "en"], "fr"), (["de-AT"], "de"),
    (["de-CH"], "de-CH"), (["xx"], "en"), ([], "en"), (["pt-BR"], "pt-BR"), (["pt-PT"], "pt"),
    (["nb-NO"], "nb"),
    (["en-GB"], "en"), (["en-US"], "en-US"), (["pl", "de"], "pl"), (["*"], "en"),
])
def test_negotiation(localiser, preferences, served):
    assert localiser.negotiate(preferences) == served


def test_durations_use_cldr_plurals(localiser):
    assert localiser.duration("pl", "P2M") == "2 miesiące"
    assert localiser.duration("pl", "P5M") == "5 miesięcy"
    assert localiser.duration("de", "P1M") == "1 Monat"
    assert localiser.duration("fr", "P45D").replace("\xa0", " ") == "45 jours"
    assert localiser.duration("en", "P15D", business_days=True) == "15 business days"
    assert localiser.duration("en", "P1D", business_days=True) == "1 business day"


def test_lists_are_localised(localiser):
    assert localiser.join("fr", ["A", "B", "C"]) == "A, B et C"


@pytest.mark.parametrize("tag", sorted(Localiser(LOCALES).locales))
def test_every_duration_is_words_in_every_locale(localiser, tag):
    """CLDR lacks some long units (et months, mt, ga days): none may leak a unit id."""
    for iso in ("P1M", "P2M", "P10D", "P15D", "P30D", "P45D"):
        for business in (False, True):
            text = localiser.duration(tag, iso, business_days=business)
            assert "duration" not in text and text.strip(), (tag, iso, text)


# -- the vendor's name and the catalogue headers -----------------------------------------


def test_no_end_user_text_names_the_vendor(snap):
    """rightsgate is our product's name, not something the person needs to read."""
    english = [text for _context, text in required_messages(snap.ruleset)]
    assert not [t for t in english if "rightsgate" in t.lower()]
    for path in PO_FILES:
        named = [m.context for m in _read(path) if m.id and any(
            "rightsgate" in s.lower() for s in (m.string if isinstance(m.string, tuple) else (m.string,)))]
        assert not named, (path.parent.parent.name, named)


# Text that `pybabel init` leaves for a person to replace.
TEMPLATE_TEXT = ("PROJECT", "VERSION", "ORGANIZATION", "FULL NAME", "FIRST AUTHOR", "EMAIL@ADDRESS",
                 "LANGUAGE <LL@li.org>", "YEAR-MO-DA")
# GNU gettext and CLDR give Indonesian and Malay one plural form; Babel's table falls back to two.
ONE_PLURAL_FORM = {"id", "ms"}


@pytest.mark.parametrize("path", PO_FILES, ids=lambda p: p.parent.parent.name)
def test_catalogue_header_is_filled_in(path):
    name = path.parent.parent.name
    raw = path.read_text(encoding="utf-8")
    header = raw[:raw.index("\n\n")]
    assert not [t for t in TEMPLATE_TEXT if t in header]
    assert f'"Language: {name}\\n"' in header
    catalog = _read(path)
    assert catalog.project == "rightsgate"
    assert catalog.language_team.startswith(Locale.parse(name).english_name.split(" (")[0])
    assert "@" in catalog.msgid_bugs_address
    plural = get_plural(name)
    expected = (1, "0") if name in ONE_PLURAL_FORM else (plural.num_plurals, plural.plural_expr)
    assert (catalog.num_plurals, catalog.plural_expr) == expected


# -- negotiation over HTTP: the variant served and Content-Language -----------------------

SHIPPED = ["en", "en-US", "bg", "cs", "da", "de", "de-CH", "el", "es", "es-419", "et", "fi", "fr", "fr-CA",
           "ga", "hr", "hu", "is", "it", "lt", "lv", "mt", "nb", "nl", "pl", "pt", "pt-BR", "ro", "sk", "sl",
           "sv", "ja", "ko", "zh-Hans", "hi", "id", "th", "vi", "tr", "ms", "he", "ar"]


def test_the_42_languages_are_shipped(localiser):
    assert sorted(localiser.locales) == sorted(SHIPPED)
    assert len(SHIPPED) == 42


def _served(client, accept_language: str | None = None, locale: str | None = None) -> str:
    params = {"jurisdiction": "DE", "age": 30}
    if locale is not None:
        params["locale"] = locale
    headers = {"Accept-Language": accept_language} if accept_language is not None else {}
    response = client.get("/v1/decision", query_string=params, headers=headers)
    assert response.status_code == 200
    assert response.get_json()["locale"] == response.headers["Content-Language"]
    return response.headers["Content-Language"]


@pytest.mark.parametrize("tag", SHIPPED)
def test_every_shipped_tag_is_served_exactly(client, tag):
    assert _served(client, accept_language=tag) == tag
    assert _served(client, locale=tag) == tag
    assert _served(client, accept_language=f"{tag}, en;q=0.5") == tag


@pytest.mark.parametrize(("asked", "served"), [
    ("fr-CH", "fr"), ("fr-BE", "fr"), ("de-AT", "de"), ("de-LI", "de"),
    ("de-CH", "de-CH"), ("de-ch", "de-CH"),
    ("pt-PT", "pt"), ("pt-BR", "pt-BR"), ("pt-br", "pt-BR"), ("pt-AO", "pt"),
    ("es-MX", "es-419"), ("es-US", "es-419"), ("es-AR", "es-419"), ("es-419", "es-419"), ("es-ES", "es"),
    ("zh-CN", "zh-Hans"), ("zh", "zh-Hans"), ("zh-SG", "zh-Hans"), ("zh-Hans-HK", "zh-Hans"),
    ("zh-TW", "en"), ("zh-HK", "en"), ("zh-MO", "en"), ("zh-Hant", "en"), ("zh-Hant-CN", "en"),
    ("no", "nb"), ("nn", "nb"), ("nb", "nb"), ("nb-NO", "nb"), ("nn-NO", "nb"), ("no-NO", "nb"),
    ("en-GB", "en"), ("en-AU", "en"), ("en-US", "en-US"), ("fr-CA", "fr-CA"), ("fr_CA", "fr-CA"),
])
def test_regional_neighbours(client, asked, served):
    assert _served(client, accept_language=asked) == served
    assert _served(client, locale=asked) == served


@pytest.mark.parametrize(("accept_language", "served"), [
    # Chrome's default in Taiwan and Hong Kong: the bare zh after the region is Traditional too.
    ("zh-TW,zh;q=0.9,en-US;q=0.8,en;q=0.7", "en-US"),
    ("zh-HK,zh;q=0.9", "en"),
    ("zh-Hant, zh;q=0.8, ja;q=0.5", "ja"),
    # A Simplified reader still gets Simplified, whatever follows.
    ("zh-CN,zh;q=0.9,en;q=0.8", "zh-Hans"),
    ("zh,zh-TW;q=0.5", "zh-Hans"),
    # The first preference a shipped variant answers wins over a later exact tag.
    ("es-MX, es;q=0.9", "es-419"),
    ("pt-PT, pt-BR;q=0.9", "pt"),
    ("fr-CH, fr-CA;q=0.9", "fr"),
])
def test_preference_lists(client, accept_language, served):
    assert _served(client, accept_language=accept_language) == served


@pytest.mark.parametrize("path", PO_FILES, ids=lambda p: p.parent.parent.name)
def test_every_catalogue_has_a_style_guide(path):
    """Register decided once, the statute's vocabulary, and where the guide is unsure."""
    guide = path.parent.parent / "STYLE.md"
    assert guide.is_file()
    text = guide.read_text(encoding="utf-8")
    assert "## Register (decided once)" in text
    assert "|---|" in text  # the vocabulary table
