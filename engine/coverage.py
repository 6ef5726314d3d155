"""Which translations a rule set needs, and which each shipped language lacks.

A translation is looked up by the English text it translates (the gettext msgid), so an
edited English text silently loses its translations: the old ones no longer match. This
module measures every language against the texts the rules hold *now* (not against a
template that may not have been regenerated), so `rightsgate validate`, `/v1/locales` and
the workbench can say what is stale or missing.
"""

from __future__ import annotations

from . import phrases
from .localise import SOURCE_LOCALE, Localiser
from .model import RuleSet
from .ui_strings import UI_STRINGS

# Jurisdiction kinds CLDR names in every language (their names need no translation).
CLDR_NAMED_KINDS = ("country",)


def required_messages(ruleset: RuleSet) -> set[tuple[str, str]]:
    """Every (context, English text) a response can show for `ruleset`, the component's words included."""
    needed: set[tuple[str, str]] = set()
    for (kind, item_id), entry in ruleset.catalog.items():
        needed.add((f"{kind}.{item_id}.title", entry.title))
        if kind != "framework":
            needed.add((f"{kind}.{item_id}.text", entry.text))
    for code, jur in ruleset.jurisdictions.items():
        if jur.kind not in CLDR_NAMED_KINDS:
            needed.add((f"jurisdiction.{code}", jur.name))
        if code == "EEA" and jur.authority and jur.authority.get("name"):
            needed.add((f"authority.{code}", jur.authority["name"]))
    for value in vars(phrases).values():
        if isinstance(value, tuple) and len(value) in (2, 3) and all(isinstance(v, str) for v in value):
            needed.add((value[0], value[1]))
    needed.update(UI_STRINGS.values())  # the component's words (GET /v1/ui-strings)
    return needed


def translation_gaps(localiser: Localiser, ruleset: RuleSet) -> dict[str, list[tuple[str, str]]]:
    """Per shipped language: the needed messages it has no current translation for, sorted."""
    needed = required_messages(ruleset)
    return {tag: sorted(needed - shipped.translated)
            for tag, shipped in localiser.locales.items() if tag != SOURCE_LOCALE}


def completeness(localiser: Localiser, ruleset: RuleSet) -> dict[str, float]:
    """Per shipped language: the share (0-100) of the current texts it translates."""
    needed = required_messages(ruleset)
    total = len(needed) or 1
    return {tag: (100.0 if tag == SOURCE_LOCALE
                  else round(100.0 * len(needed & shipped.translated) / total, 1))
            for tag, shipped in localiser.locales.items()}
