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
)
EFFECT_KINDS = ("age_gate", "right", "opt_out", "notice")
AGE_GATE_STATUSES = ("allowed", "parental_consent_required", "blocked", "age_required")
MATCH_KINDS = ("subdivision", "country", "alias", "region", "default")
MAX_AGE = 130


def freeze(value: Any) -> Any:
    """Return a deeply immutable copy of plain data (dicts become mapping proxies)."""
    if isinstance(value, Mapping):
        return MappingProxyType({k: freeze(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(freeze(v) for v in value)
    return value


def thaw(value: Any) -> Any:
    """Return plain, JSON-ready data from frozen data."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
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
    frameworks_absent: tuple[str, ...] = ()


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


@dataclass(frozen=True)
class Policy:
    minimum_signup_age: int
    consent_age_where_law_is_silent: int
    honour_gpc_outside_california: bool
    locations: Mapping

    def location_of(self, key: str) -> Location:
        return self.locations.get(key, Location("policy.yaml"))


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
