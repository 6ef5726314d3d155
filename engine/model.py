"""The rule model: what the loader builds from the YAML files and the compiler reads.

Everything here is immutable once built, so a loaded rule set can be shared by threads
and survives a fork unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType
from typing import Any, Mapping

LEGAL_STATUSES = (
    "verified",
    "verified_secondary",
    "partially_verified",
    "unverified",
    "disputed",
    "policy",  # the customer's own choice (policy.yaml, DEFAULT), never law
)
EFFECT_KINDS = ("age_gate", "right", "opt_out", "notice")
AGE_GATE_STATUSES = ("allowed", "parental_consent_required", "blocked", "age_required")
MATCH_KINDS = ("subdivision", "country", "alias", "region", "territory", "default")
MECHANISMS = ("opt_in", "opt_out", "prohibited")
CONSENT_BY = ("person", "parent", "parent_and_child", "school")
# What the business must know about a person's age before an item applies to them.
KNOWLEDGE = ("actual", "wilful_disregard", "knew_or_should_have_known", "reasonable_certainty")
CONTEXTS = ("consumer", "school")  # `school`: the account is provided through a school
# Who consents below the age changes what the person must be told (France: jointly); the
# age_gate: entries of catalog.yaml with these ids hold those words.
GATE_TEXT_BY_CONSENT = {"parent_and_child": "joint_consent_required", "school": "school_consent"}
# policy.yaml settings a rule may depend on (`when: {policy: {...}}`).
POLICY_CONDITIONS = ("online_platform", "offers_financial_incentives", "serves_k12_schools",
                     "predominantly_accessed_by_children", "established_outside")
MAX_AGE = 130


# Exact types, not isinstance(Mapping): freezing and thawing run for every effect of every
# input class at load time, and the abstract-class check was most of that cost.
_MAPPINGS = (dict, MappingProxyType)
_SEQUENCES = (list, tuple)
_SCALARS = frozenset({str, int, bool, float, type(None), date})


def freeze(value: Any) -> Any:
    """Return a deeply immutable copy of plain data (dicts become mapping proxies)."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind in _MAPPINGS or (kind not in _SEQUENCES and isinstance(value, Mapping)):
        return MappingProxyType({k: freeze(v) for k, v in value.items()})
    if kind in _SEQUENCES:
        return tuple(freeze(v) for v in value)
    return value


def thaw(value: Any) -> Any:
    """Return plain, JSON-ready data from frozen data."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind in _MAPPINGS or (kind is not tuple and isinstance(value, Mapping)):
        return {k: thaw(v) for k, v in value.items()}
    if kind is tuple:
        return [thaw(v) for v in value]
    return value


@dataclass(frozen=True)
class Location:
    """Where something was written: file (relative to the rules dir) and line."""

    file: str
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


@dataclass(frozen=True)
class Jurisdiction:
    code: str
    name: str
    kind: str
    parent: str | None
    frameworks: tuple[str, ...]
    aliases: tuple[str, ...]
    authority: Mapping | None
    modelled: bool
    path: tuple[str, ...]
    location: Location
    territories: tuple[str, ...] = ()  # other codes that are legally this place (RE is FR)


@dataclass(frozen=True)
class AgeRange:
    """Ages `at_least <= age < below`; `include_unknown` also matches 'no age given'."""

    at_least: int | None = None
    below: int | None = None
    include_unknown: bool = False
    unknown_only: bool = False


@dataclass(frozen=True)
class Condition:
    jurisdictions: tuple[str, ...] = ()
    age: AgeRange | None = None
    gpc: bool | None = None
    effective_from: date | None = None
    effective_until: date | None = None  # last day in force (inclusive)
    frameworks_absent: tuple[str, ...] = ()  # none of these may be in force
    context: str | None = None
    policy: tuple[tuple[str, object], ...] = ()  # policy.yaml settings that must hold


@dataclass(frozen=True)
class Effect:
    """One thing a rule says: an age gate, or a right/opt-out/notice by id."""

    kind: str
    id: str
    fields: Mapping
    modify: bool
    citation: str
    legal_status: str
    location: Location

    @property
    def slot(self) -> tuple[str, str]:
        return (self.kind, self.id)


@dataclass(frozen=True)
class Rule:
    id: str
    framework: str
    summary: str
    when: Condition
    effects: tuple[Effect, ...]
    overrides: tuple[str, ...]
    citation: str
    legal_status: str
    source: str
    notes: str | None
    basis: str  # "law" or "policy"
    location: Location
    builtin: bool = False
    overrides_all_in_slot: bool = False


@dataclass(frozen=True)
class CatalogEntry:
    kind: str
    id: str
    title: str
    text: str
    placeholders: tuple[str, ...]
    location: Location


@dataclass(frozen=True)
class Framework:
    id: str
    law: str
    basis: str
    source_url: str | None
    location: Location
    effective_from: date | None = None
    effective_until: date | None = None  # last day in force (inclusive)
    replaces: tuple[str, ...] = ()  # frameworks whose rules stop where this one is in force

    def in_force(self, day: date) -> bool:
        if self.effective_from and day < self.effective_from:
            return False
        return not (self.effective_until and day > self.effective_until)


@dataclass(frozen=True)
class Policy:
    minimum_signup_age: int
    consent_age_where_law_is_silent: int
    honour_gpc_outside_california: bool
    locations: Mapping
    established_in: tuple[str, ...] = ()
    minimum_signup_age_in_school_context: int | None = None  # None: minimum_signup_age
    online_platform: bool = False
    offers_financial_incentives: bool = False
    serves_k12_schools: bool = False
    predominantly_accessed_by_children: bool = False

    def minimum_age(self, context: str) -> int:
        """The minimum signup age for an account in `context` (consumer or school)."""
        if context == "school" and self.minimum_signup_age_in_school_context is not None:
            return self.minimum_signup_age_in_school_context
        return self.minimum_signup_age

    @property
    def school_minimum_differs(self) -> bool:
        return self.minimum_age("school") != self.minimum_signup_age

    def location_of(self, key: str) -> Location:
        return self.locations.get(key, Location("policy.yaml"))

    def holds(self, key: str, value: object, paths: Mapping[str, tuple[str, ...]]) -> bool:
        """Does the setting `key` have `value`? `established_outside: [EEA]` is true when
        the customer is established in none of those places (`paths`: code -> its path)."""
        if key == "established_outside":
            places = set(value) if isinstance(value, (list, tuple)) else {value}
            return not any(places & set(paths.get(code, (code,))) for code in self.established_in)
        return getattr(self, key) == value


@dataclass(frozen=True)
class Case:
    """An example case: an input and what the outcome must be, with the deciding rule."""

    name: str
    input: Mapping
    expect: Mapping
    location: Location


@dataclass(frozen=True)
class RuleSet:
    """Everything loaded and validated from one rules directory."""

    jurisdictions: Mapping[str, Jurisdiction]
    aliases: Mapping[str, str]
    catalog: Mapping[tuple[str, str], CatalogEntry]
    frameworks: Mapping[str, Framework]
    rules: tuple[Rule, ...]
    policy: Policy
    cases: tuple[Case, ...] = field(default=())

    def rule(self, rule_id: str) -> Rule:
        return self._rules_by_id[rule_id]

    @property
    def _rules_by_id(self) -> Mapping[str, Rule]:
        cached = self.__dict__.get("_by_id")
        if cached is None:
            cached = {r.id: r for r in self.rules}
            object.__setattr__(self, "_by_id", cached)
        return cached
