"""Turn what a caller sends as a jurisdiction into a modelled jurisdiction.

Order (legal-reference.md §11): exact code (subdivision, country, region) -> alias ->
a subdivision's country (CA-ON -> CA, US-TX -> US) -> DEFAULT for any other
well-formed ISO code. `CA` is Canada, never California. Malformed input is an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping

from .model import Jurisdiction
from .suggest import did_you_mean

COUNTRY_RE = re.compile(r"^[A-Z]{2}$")
SUBDIVISION_RE = re.compile(r"^([A-Z]{2})-([A-Z0-9]{1,3})$")
MAX_INPUT = 64


class InvalidJurisdiction(ValueError):
    """The jurisdiction is not a code, subdivision or known alias."""

    def __init__(self, value: str, suggestion: str | None) -> None:
        self.value = value
        self.suggestion = suggestion
        hint = f"; {suggestion}" if suggestion else ""
        super().__init__(
            "not an ISO 3166 code (DE, US-CA, CA-QC) or a known alias (UK, EL, EEA, EU)" + hint
        )


@dataclass(frozen=True)
class Resolution:
    requested: str | None
    code: str
    matched: str  # subdivision | country | alias | region | territory | default


def _matched(jurisdiction: Jurisdiction) -> str:
    if not jurisdiction.modelled or jurisdiction.kind == "default":
        return "default"
    return jurisdiction.kind


def territory_index(jurisdictions: Mapping[str, Jurisdiction]) -> dict[str, str]:
    """Codes that are legally part of a modelled place (RE -> FR, AX -> FI, PR -> US)."""
    return {t: j.code for j in jurisdictions.values() for t in j.territories}


def resolve_jurisdiction(
    raw: str | None, jurisdictions: Mapping[str, Jurisdiction], aliases: Mapping[str, str],
    territories: Mapping[str, str] | None = None,
) -> Resolution:
    """Resolve `raw` (case-insensitive, `_` = `-`) or raise InvalidJurisdiction."""
    if raw is None or not raw.strip():
        return Resolution(None, "DEFAULT", "default")
    text = raw.strip()
    if len(text) > MAX_INPUT:
        raise InvalidJurisdiction(text[:MAX_INPUT], None)
    if not text.isascii():
        # str.upper() maps 'ı' to 'I' and 'ﬁ' to 'FI': never let that pick a country.
        raise InvalidJurisdiction(text, None)
    key = text.upper().replace("_", "-")
    if key in jurisdictions:
        return Resolution(text, key, _matched(jurisdictions[key]))
    if territories and key in territories:
        target = jurisdictions[territories[key]]
        return Resolution(text, target.code, "territory" if target.modelled else "default")
    if key in aliases:
        target = jurisdictions[aliases[key]]
        kind = "region" if target.kind == "region" else "alias"
        return Resolution(text, target.code, kind if target.modelled else "default")
    if COUNTRY_RE.match(key):
        return Resolution(text, "DEFAULT", "default")
    sub = SUBDIVISION_RE.match(key)
    if sub:
        country = sub.group(1)
        country = aliases.get(country, country)
        if territories and country in territories:  # PR-XX is in Puerto Rico, so the US
            target = jurisdictions[territories[country]]
            return Resolution(text, target.code, "territory" if target.modelled else "default")
        if country in jurisdictions:
            return Resolution(text, country, _matched(jurisdictions[country]))
        return Resolution(text, "DEFAULT", "default")
    choices = [*jurisdictions, *aliases]
    raise InvalidJurisdiction(text, did_you_mean(text, choices))
