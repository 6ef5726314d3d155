"""How much of a place's law is verified: the legal team's first question about a new place.

Every effect of every rule that can apply in a place is counted by its legal status
(verified, verified_secondary, partially_verified, unverified, disputed, policy).
"""

from __future__ import annotations

from collections import Counter

from .classes import rule_reaches
from .model import LEGAL_STATUSES, RuleSet


def verification(ruleset: RuleSet, code: str) -> dict[str, int]:
    """Effects that can apply in `code`, counted by legal status (every status present)."""
    jurisdiction = ruleset.jurisdictions[code]
    counts = Counter(effect.legal_status
                     for rule in ruleset.rules if rule_reaches(rule, jurisdiction)
                     for effect in rule.effects)
    return {status: counts.get(status, 0) for status in LEGAL_STATUSES}


def verification_table(ruleset: RuleSet) -> list[tuple[str, str, dict[str, int]]]:
    """(code, name, counts) for every modelled place, for the README and the workbench."""
    return [(code, jur.name, verification(ruleset, code))
            for code, jur in sorted(ruleset.jurisdictions.items()) if jur.modelled]
