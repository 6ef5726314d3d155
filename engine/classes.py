"""Input classes: the finite set of inputs that can lead to different decisions.

Age only matters at the thresholds the rules name, dates only at effective_from /
effective_until boundaries, GPC is a flag. So for each jurisdiction the rules that
can apply there give its age bands and date intervals, and every combination is one
class, evaluated once at load time.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import date, timedelta

from .model import CONTEXTS, MAX_AGE, Jurisdiction, Rule

EPOCH = date(1970, 1, 1)
UNKNOWN_AGE = -1


@dataclass(frozen=True)
class InputClass:
    jurisdiction: str
    band: int  # index into the jurisdiction's age bands, or UNKNOWN_AGE
    age: int | None  # the representative age (band start), None when unknown
    gpc: bool
    interval: int  # index into the jurisdiction's date intervals
    day: date  # the representative day (interval start)
    context: str = "consumer"


@dataclass(frozen=True)
class Axes:
    """Where one jurisdiction's age bands and date intervals start."""

    age_starts: tuple[int, ...]  # first band starts at 0
    day_starts: tuple[date, ...]  # first interval starts at the earliest day modelled

    def band_of(self, age: int | None) -> int:
        if age is None:
            return UNKNOWN_AGE
        return bisect_right(self.age_starts, age) - 1

    def interval_of(self, day: date) -> int:
        return max(bisect_right(self.day_starts, day) - 1, 0)

    def band_range(self, band: int) -> tuple[int | None, int | None]:
        if band == UNKNOWN_AGE:
            return (None, None)
        end = self.age_starts[band + 1] if band + 1 < len(self.age_starts) else MAX_AGE + 1
        return (self.age_starts[band], end)

    def interval_range(self, interval: int) -> tuple[date | None, date | None]:
        """First and last day of an interval (None: open-ended)."""
        start = self.day_starts[interval] if interval > 0 else None
        end = (self.day_starts[interval + 1] - timedelta(days=1)
               if interval + 1 < len(self.day_starts) else None)
        return (start, end)


def rule_reaches(rule: Rule, jurisdiction: Jurisdiction) -> bool:
    """Could `rule` ever fire for `jurisdiction` (framework and place match)?

    `frameworks_absent` is not checked here: frameworks have dates, so a rule that steps
    back for one may still fire before it comes into force (durable_rules tests that).
    """
    if rule.framework != "*" and rule.framework not in jurisdiction.frameworks:
        return False
    if rule.when.jurisdictions:
        return any(code in jurisdiction.path for code in rule.when.jurisdictions)
    return True


def axes_for(rules: list[Rule], extra_ages: set[int], first_day: date | None = None) -> Axes:
    """Collect the age thresholds and date boundaries that `rules` mention, from
    `first_day` (the earliest day the rules model for the place; None: no limit)."""
    ages = {0, *extra_ages}
    first = first_day or EPOCH
    days = {first}
    for rule in rules:
        age = rule.when.age
        if age is not None:
            ages.update(a for a in (age.at_least, age.below) if a is not None)
        for effect in rule.effects:
            if effect.kind == "age_gate" and effect.fields.get("digital_consent_age") is not None:
                ages.add(effect.fields["digital_consent_age"])
        if rule.when.effective_from:
            days.add(rule.when.effective_from)
        if rule.when.effective_until:
            days.add(rule.when.effective_until + timedelta(days=1))
    ages = {a for a in ages if 0 <= a <= MAX_AGE}
    return Axes(tuple(sorted(ages)), tuple(sorted(d for d in days if d >= first)))


def contexts_for(rules: list[Rule]) -> tuple[str, ...]:
    """`school` is its own class only where some rule speaks about the context."""
    return CONTEXTS if any(rule.when.context for rule in rules) else CONTEXTS[:1]


def classes_for(code: str, axes: Axes, contexts: tuple[str, ...] = CONTEXTS[:1]) -> list[InputClass]:
    """Every input class of one jurisdiction."""
    bands = [UNKNOWN_AGE, *range(len(axes.age_starts))]
    result = []
    for interval, day in enumerate(axes.day_starts):
        for band in bands:
            age = None if band == UNKNOWN_AGE else axes.age_starts[band]
            for gpc in (False, True):
                for context in contexts:
                    result.append(InputClass(code, band, age, gpc, interval, day, context))
    return result
