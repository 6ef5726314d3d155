"""Turn a Decision into the response a frontend shows, in one language; and the
reference bodies (jurisdictions, catalogue, locales, the component's words), with the
same helpers.

The output follows the API contract in docs/design.md. Every item whose words are
not available in the served language says so (`fallback_locale`), and the list of
such items is in `fallbacks`, so languages are never silently mixed.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Mapping

from . import phrases
from .coverage import completeness
from .decision import Decision
from .jurisdictions import Resolution
from .localise import SOURCE_LOCALE, Localiser
from .model import GATE_TEXT_BY_CONSENT, thaw
from .receipts import item_version
from .snapshot import Snapshot
from .ui_strings import UI_STRINGS
from .verification import verification

PUBLIC_GATE = ("status", "digital_consent_age", "parental_consent_required", "minimum_age",
               "basis", "consent_by", "policy_consent_age", "knowledge", "rule", "citation",
               "legal_status")
PUBLIC_ITEM = {
    "right": ("id", "citation", "rule", "legal_status", "basis", "absolute"),
    "opt_out": ("id", "mechanism", "default", "gpc_applied", "consent_by", "consent_basis",
                "consent_rule", "knowledge", "exemptions", "citation", "rule", "legal_status",
                "basis"),
    "notice": ("id", "citation", "rule", "legal_status", "basis"),
}


def gate_text_id(gate: Mapping) -> str:
    """The catalogue entry (under age_gate:) whose words describe this age gate."""
    if gate.get("status") == "parental_consent_required":
        return GATE_TEXT_BY_CONSENT.get(gate.get("consent_by"), "parental_consent_required")
    return gate["status"]


# Fields that stay as written, whatever the language: legal citations (the statute's own
# words), authorities' official names (the EEA-wide one excepted) and exemption ids (ids,
# not words: a frontend labels them itself). The response says so, so no reader mistakes
# them for a missing translation.
UNTRANSLATED_FIELDS = ("citation", "authority.name", "authority.co_enforcer", "exemptions")


class _Words:
    """Translate while remembering which items fell back to English."""

    def __init__(self, localiser: Localiser, tag: str, catalog: Mapping) -> None:
        self.localiser = localiser
        self.tag = tag
        self.catalog = catalog
        self.fallbacks: list[str] = []

    def item(self, kind: str, item_id: str, values: Mapping[str, Any]) -> tuple[str, str, bool]:
        """Title and text of a catalogue entry; `kind` "wording" for a law's own words."""
        entry = self.catalog[(kind, item_id)]
        title, fb1 = self.localiser.text(self.tag, f"{kind}.{item_id}.title", entry.title)
        text, fb2 = self.localiser.text(self.tag, f"{kind}.{item_id}.text", entry.text)
        if entry.placeholders:
            title = title.format_map(values)
            text = text.format_map(values)
        fell_back = fb1 or fb2
        if fell_back:
            self.fallbacks.append(f"{kind}.{item_id}")
        return title, text, fell_back


def _response(words: _Words, response: Mapping) -> dict:
    """The deadline as data and as words; `fallback_locale` if any phrase is English."""
    out = {k: v for k, v in response.items() if k not in ("citation", "notes")}
    localiser, tag = words.localiser, words.tag
    fell_back = False

    def phrase(message: tuple[str, str], **values: object) -> str:
        nonlocal fell_back
        text, missing = localiser.text(tag, message[0], message[1])
        fell_back = fell_back or missing
        return text.format(**values)

    def duration(iso: str, business: bool) -> str:
        nonlocal fell_back
        if business and iso.endswith("D"):
            fell_back = fell_back or localiser.text(tag, *phrases.BUSINESS_DAYS[:2])[1]
        return localiser.duration(tag, iso, business)

    parts = []
    business = bool(response.get("business_days"))
    if response.get("deadline"):
        deadline = duration(response["deadline"], business)
        parts.append(deadline)
        if response.get("extension"):
            extension = duration(response["extension"], business)
            parts = [phrase(phrases.EXTENDABLE, deadline=deadline, extension=extension)]
    if response.get("acknowledge"):
        period = duration(response["acknowledge"], bool(response.get("acknowledge_business_days")))
        parts.append(phrase(phrases.ACKNOWLEDGE, period=period))
    out["text"] = "; ".join(parts)
    if fell_back:
        out["fallback_locale"] = SOURCE_LOCALE
        words.fallbacks.append("response")
    return out


def _authority(localiser: Localiser, tag: str, code: str,
               authority: Mapping | None) -> tuple[dict | None, bool]:
    """A supervisory authority as the API shows it; the flag says its name fell back to English."""
    if not authority:
        return None, False
    out = {"name": authority["name"], "url": authority["url"],
           "legal_status": authority.get("status")}
    fell_back = False
    if code == "EEA":  # the only authority name that is prose rather than a proper name
        out["name"], fell_back = localiser.text(tag, "authority.EEA", authority["name"])
    if authority.get("co_enforcer"):
        out["co_enforcer"] = dict(authority["co_enforcer"])
    return out, fell_back


def render_decision(
    snapshot: Snapshot,
    localiser: Localiser,
    decision: Decision,
    resolution: Resolution,
    tag: str,
    as_of: date,
    gpc: bool,
    context: str = "consumer",
    receipts: dict | None = None,
) -> dict:
    """Build the v1 decision response for `decision` in locale `tag`.

    `receipts` may hold item versions already computed with this snapshot and localiser
    (engine.receipts; the API keeps one per Serving): an item is a function of its effect
    (shared by identity between classes), its kind, the place, the language and the age
    gate's placeholder values, so the hash is computed once for all the classes sharing it.
    """
    ruleset = snapshot.ruleset
    words = _Words(localiser, tag, ruleset.catalog)
    jur = ruleset.jurisdictions[decision.jurisdiction]
    name, name_fb = localiser.territory(tag, jur.code, jur.name)
    framework_titles = [words.localiser.text(tag, f"framework.{fw}.title",
                                             ruleset.catalog[("framework", fw)].title)[0]
                        for fw in jur.frameworks]
    gate = thaw(decision.age_gate)
    values = {"consent_age": gate.get("consent_age") or gate.get("digital_consent_age"),
              "minimum_age": gate.get("minimum_age")}
    gate_out = {k: gate.get(k) for k in PUBLIC_GATE if k in gate}
    gate_out["title"], gate_out["text"], fell_back = words.item("age_gate", gate_text_id(gate), values)
    if fell_back:
        gate_out["fallback_locale"] = SOURCE_LOCALE
    values_key = (values["consent_age"], values["minimum_age"])

    def receipt(kind: str, effect: Mapping, item: dict) -> str:
        if receipts is None:
            return item_version(kind, item)
        key = (kind, id(effect), jur.code, tag, values_key)  # effects live as long as the snapshot
        found = receipts.get(key)
        if found is None:
            found = receipts[key] = item_version(kind, item)
        return found

    gate_out["version"] = receipt("age_gate", decision.age_gate, gate_out)

    def items(kind: str, effects: tuple) -> list[dict]:
        out = []
        for effect in effects:
            data = thaw(effect)
            item = {k: data[k] for k in PUBLIC_ITEM[kind] if k in data}
            if data.get("wording"):  # the law's own word for the item (a state's "sale")
                title, text, fb = words.item("wording", data["wording"], values)
            else:
                title, text, fb = words.item(kind, data["id"], values)
            item["title"] = title
            item["description" if kind == "right" else "text"] = text
            if kind == "right":
                if data.get("response"):
                    item["response"] = _response(words, data["response"])
                if data["id"] == "complain":
                    item["authority"], authority_fb = _authority(localiser, tag, jur.code,
                                                                 data.get("authority"))
                    if authority_fb:
                        words.fallbacks.append("authority.EEA")
            if fb:
                item["fallback_locale"] = SOURCE_LOCALE
            item["version"] = receipt(kind, effect, item)  # the rule's effect and these words
            out.append(item)
        return out

    body = {
        "jurisdiction": {
            "code": jur.code,
            "requested": resolution.requested,
            "name": name,
            "frameworks": list(jur.frameworks),
            "frameworks_text": localiser.join(tag, framework_titles),
            "path": list(jur.path),
            "matched": resolution.matched,
        },
        "locale": tag,
        "direction": localiser.direction(tag),
        "ruleset": {"version": snapshot.version, "as_of": as_of.isoformat()},
        "gpc": gpc,
        "context": context,
        "age_gate": gate_out,
        "rights": items("right", decision.rights),
        "opt_outs": items("opt_out", decision.opt_outs),
        "notices": items("notice", decision.notices),
        "valid": {
            "from": decision.valid_from.isoformat() if decision.valid_from else None,
            "until": decision.valid_until.isoformat() if decision.valid_until else None,
        },
    }
    if name_fb:
        words.fallbacks.insert(0, f"jurisdiction.{jur.code}")
    body["fallbacks"] = words.fallbacks
    body["untranslated_fields"] = list(UNTRANSLATED_FIELDS)
    return body


# -- reference bodies ------------------------------------------------------------------


def render_jurisdictions(snapshot: Snapshot, localiser: Localiser, tag: str) -> dict:
    """Every jurisdiction with its name in locale `tag` (the /v1/jurisdictions body)."""
    ruleset = snapshot.ruleset
    entries, fallbacks = [], []
    for code, jur in ruleset.jurisdictions.items():
        name, fell_back = localiser.territory(tag, code, jur.name)
        entry = {
            "code": code, "name": name, "english_name": jur.name, "kind": jur.kind,
            "parent": jur.parent, "path": list(jur.path), "frameworks": list(jur.frameworks),
            "aliases": list(jur.aliases), "territories": list(jur.territories),
            "modelled": jur.modelled,
            "authority": _authority(localiser, tag, code, jur.authority)[0],
            "supported_from": (snapshot.tables[code].supported_from.isoformat()
                               if snapshot.tables[code].supported_from else None),
            "verification": verification(ruleset, code),
        }
        if fell_back:
            entry["fallback_locale"] = SOURCE_LOCALE
            fallbacks.append(f"jurisdiction.{code}")
        entries.append(entry)
    return {"locale": tag, "ruleset": {"version": snapshot.version}, "jurisdictions": entries,
            "aliases": dict(ruleset.aliases), "fallbacks": fallbacks}


def render_catalog(snapshot: Snapshot, localiser: Localiser, tag: str) -> dict:
    """Every catalogue entry with its title and text in locale `tag` (the /v1/catalog body)."""
    entries, fallbacks = [], []
    for (kind, item_id), item in snapshot.ruleset.catalog.items():
        title, fb_title = localiser.text(tag, f"{kind}.{item_id}.title", item.title)
        text, fb_text = (localiser.text(tag, f"{kind}.{item_id}.text", item.text)
                         if item.text else ("", False))
        entry = {"kind": kind, "id": item_id, "title": title, "text": text,
                 "placeholders": list(item.placeholders)}
        if fb_title or fb_text:
            entry["fallback_locale"] = SOURCE_LOCALE
            fallbacks.append(f"{kind}.{item_id}")
        entries.append(entry)
    return {"locale": tag, "ruleset": {"version": snapshot.version}, "entries": entries,
            "fallbacks": fallbacks}


def render_locales(snapshot: Snapshot, localiser: Localiser, tag: str) -> dict:
    """Every shipped locale, named in itself and in locale `tag` (the /v1/locales body).

    Completeness is measured against the texts the active rules hold now, so an edited
    English text shows up here as soon as it is live (engine.coverage)."""
    current = completeness(localiser, snapshot.ruleset)
    entries = [{
        "tag": shipped.tag, "native_name": shipped.native_name, "direction": localiser.direction(shipped.tag),
        "name": localiser.language_name(shipped.tag, tag), "completeness": current[shipped.tag],
        "review_status": shipped.review_status, "source": shipped.tag == SOURCE_LOCALE,
    } for shipped in localiser.locales.values()]
    return {"locale": tag, "default": SOURCE_LOCALE, "locales": entries}


def render_ui_strings(snapshot: Snapshot, localiser: Localiser, tag: str) -> dict:
    """The drop-in component's words in locale `tag` (the /v1/ui-strings body).

    A word without a current translation is served in English and listed in
    `fallbacks`, as decision items are, so a frontend never mixes languages unknowingly."""
    strings, fallbacks = {}, []
    for key, (context, english) in UI_STRINGS.items():
        strings[key], fell_back = localiser.text(tag, context, english)
        if fell_back:
            fallbacks.append(key)
    return {"locale": tag, "direction": localiser.direction(tag),
            "ruleset": {"version": snapshot.version}, "strings": strings, "fallbacks": fallbacks}
