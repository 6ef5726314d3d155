"""Languages: which locales are shipped, which one to serve, and the words in it.

The `.po` files under ``locales/`` are committed; they are compiled in memory when
the service starts, so a fresh machine needs no compile step. Babel negotiates the
locale (`fr-CA` -> `fr` -> `en`) and CLDR supplies country and language names,
plural rules, list patterns and date formats.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from babel import Locale, UnknownLocaleError
from babel.lists import format_list
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from babel.units import format_unit

from . import phrases
from .cldr_gaps import UNIT_PATTERNS

SOURCE_LOCALE = "en"
# Tags that mean a shipped language: Norwegian (`no`) is written in Bokmål or Nynorsk;
# we ship Bokmål, which Nynorsk readers read too.
LANGUAGE_ALIASES = {"no": "nb", "nn": "nb"}

# Spanish of the Americas (UN M.49 region 419) and of the United States reads the
# Latin American variant, when it is shipped, before Spain's.
REGIONAL_VARIANTS = {("es", r): "es-419" for r in (
    "US", "MX", "AR", "BO", "CL", "CO", "CR", "CU", "DO", "EC", "GT", "HN", "NI", "PA", "PE",
    "PR", "PY", "SV", "UY", "VE", "419")}

DEFAULT_LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"


def _chinese_script(rest: str) -> str:
    """The script of a Chinese tag's subtags after `zh` (`TW` -> Hant, `CN`, `SG` or none -> Hans)."""
    parts = [p.upper() for p in rest.split("-") if p]
    script = next((p.title() for p in parts if len(p) == 4), None)
    if script is None:
        script = "Hant" if any(p in ("TW", "HK", "MO") for p in parts) else "Hans"
    return script


def to_tag(locale: Locale) -> str:
    """Babel's `fr_CA` as the BCP 47 tag `fr-CA`."""
    return str(locale).replace("_", "-")


@dataclass
class ShippedLocale:
    tag: str
    locale: Locale
    translations: Translations | None
    translated: frozenset = field(default_factory=frozenset)  # (context, msgid) pairs
    completeness: float = 100.0
    review_status: str = "source"

    @property
    def native_name(self) -> str:
        return self.locale.get_display_name(self.locale) or self.tag


def _template_ids(pot: Path) -> set[tuple[str | None, str]]:
    if not pot.is_file():
        return set()
    with pot.open("rb") as handle:
        catalog = read_po(handle)
    return {(m.context, m.id if isinstance(m.id, str) else m.id[0]) for m in catalog if m.id}


class Localiser:
    """Shipped locales, negotiation, and translation of rule texts and phrases."""

    def __init__(self, locales_dir: Path | str = DEFAULT_LOCALES_DIR) -> None:
        self.dir = Path(locales_dir)
        template = _template_ids(self.dir / "messages.pot")
        status_file = self.dir / "review-status.yaml"
        statuses = {}
        if status_file.is_file():
            statuses = yaml.safe_load(status_file.read_text(encoding="utf-8")) or {}
        self.locales: dict[str, ShippedLocale] = {
            SOURCE_LOCALE: ShippedLocale(SOURCE_LOCALE, Locale.parse(SOURCE_LOCALE), None,
                                         review_status=statuses.get(SOURCE_LOCALE, "source"))
        }
        for po in sorted(self.dir.glob("*/LC_MESSAGES/messages.po")):
            name = po.parent.parent.name
            try:
                locale = Locale.parse(name)
            except (ValueError, UnknownLocaleError):
                continue
            with po.open("rb") as handle:
                catalog = read_po(handle, locale=locale)
            done = frozenset(
                (m.context, m.id if isinstance(m.id, str) else m.id[0])
                for m in catalog
                if m.id and not m.fuzzy and (all(m.string) if isinstance(m.string, tuple) else m.string)
            )
            buffer = io.BytesIO()
            write_mo(buffer, catalog, use_fuzzy=False)
            buffer.seek(0)
            tag = to_tag(locale)
            total = len(template) or 1
            completeness = 100.0 * len(done & template) / total if template else 0.0
            self.locales[tag] = ShippedLocale(
                tag, locale, Translations(fp=buffer), done, round(completeness, 1),
                statuses.get(tag, "draft: not yet reviewed by counsel"))
        # Babel compares with the separator it is given, so offer BCP 47 tags.
        self._available = list(self.locales)

    # -- negotiation --------------------------------------------------------------

    def negotiate(self, preferences: list[str]) -> str:
        """Pick the shipped locale for `preferences` (best first); English if none fits.

        Each preference is tried in turn, exactly and then as its language alone (a
        reader of fr-BE prefers fr to a second choice of de). `*` accepts any language:
        reached in order, it is answered with English, the source of every text.
        Simplified Chinese is never served to a reader of Traditional Chinese (zh-TW, zh-HK,
        zh-MO, zh-Hant), not even for a bare `zh` that follows their region.
        """
        traditional = False  # an earlier preference was Chinese in Traditional characters
        for pref in preferences:
            if not pref:
                continue
            if pref == "*":
                return SOURCE_LOCALE
            pref = pref.replace("_", "-")
            language, _, rest = pref.partition("-")
            if language.lower() == "zh" and traditional and not rest:
                # A Taiwanese or Hong Kong browser sends "zh-TW, zh;q=0.9": its bare "zh"
                # means Chinese as the reader's region writes it, not Simplified.
                continue
            chosen = self._match(pref)
            if chosen:
                return chosen
            traditional = traditional or (language.lower() == "zh" and _chinese_script(rest) == "Hant")
        return SOURCE_LOCALE

    def _match(self, pref: str) -> str | None:
        language, _, region = pref.partition("-")
        language = LANGUAGE_ALIASES.get(language.lower(), language.lower())
        pref = f"{language}-{region}" if region else language
        if pref in self.locales:
            return pref  # exactly shipped (pt is Portugal's Portuguese, not pt-BR)
        if pref not in self.locales:
            # A region a shipped regional variant covers (es-MX, es-US -> es-419), or the
            # script a Chinese region writes (zh-CN -> zh-Hans; zh-TW is Traditional).
            parent = REGIONAL_VARIANTS.get((language, region.upper()))
            if parent in self.locales:
                return parent
            if language == "zh":
                return self._chinese(region)
        try:
            chosen = Locale.negotiate([pref], self._available, sep="-")
        except ValueError:
            chosen = None
        if chosen is not None:
            return to_tag(Locale.parse(chosen))
        # Babel matches `fr-CA` to `fr` only when aliases say so; try the language alone.
        return language if language in self.locales else None

    def _chinese(self, rest: str) -> str | None:
        """Simplified Chinese for zh, zh-CN, zh-SG, zh-Hans-*; never for Traditional regions."""
        tag = f"zh-{_chinese_script(rest)}"
        return tag if tag in self.locales else None

    def direction(self, tag: str) -> str:
        """`rtl` for a right-to-left script (Hebrew, Arabic), else `ltr`."""
        order = self.locales[tag].locale.character_order
        return "rtl" if order == "right-to-left" else "ltr"

    # -- words ----------------------------------------------------------------------

    def text(self, tag: str, context: str, english: str) -> tuple[str, bool]:
        """Translate one message; the flag says it fell back to English."""
        shipped = self.locales[tag]
        if shipped.translations is None:
            return english, False
        if (context, english) in shipped.translated:
            return shipped.translations.pgettext(context, english), False
        return english, True

    def plural(self, tag: str, message: tuple[str, str, str], count: int) -> str:
        context, singular, plural = message
        shipped = self.locales[tag]
        if shipped.translations is None or (context, singular) not in shipped.translated:
            return (singular if count == 1 else plural).format(count=count)
        return shipped.translations.npgettext(context, singular, plural, count).format(count=count)

    def duration(self, tag: str, iso: str, business_days: bool = False) -> str:
        """'P1M' -> '1 month', 'P45D' -> '45 days', in the served language."""
        units = {"Y": "duration-year", "M": "duration-month", "W": "duration-week",
                 "D": "duration-day"}
        amount, unit = int(iso[1:-1]), iso[-1]
        if unit == "D" and business_days:
            return self.plural(tag, phrases.BUSINESS_DAYS, amount)
        locale = self.locales[tag].locale
        text = format_unit(amount, units[unit], length="long", locale=locale)
        patterns = UNIT_PATTERNS.get(locale.language, {}).get(units[unit])
        if patterns and units[unit] in text:  # CLDR had no pattern and printed the unit id
            return patterns.get(locale.plural_form(amount), patterns["other"]).format(amount)
        return text

    def territory(self, tag: str, code: str, english: str) -> tuple[str, bool]:
        """CLDR's name for a country; subdivisions and regions come from the catalogue."""
        if len(code) == 2:
            name = self.locales[tag].locale.territories.get(code)
            if name:
                return name, False
        return self.text(tag, f"jurisdiction.{code}", english)

    def join(self, tag: str, items: list[str]) -> str:
        return format_list(items, locale=self.locales[tag].locale) if items else ""

    def language_name(self, tag: str, in_tag: str) -> str:
        locale = self.locales[tag].locale
        return locale.get_display_name(self.locales[in_tag].locale) or tag
