"""The Snapshot: every decision of a rule set, precomputed and immutable.

Looking a decision up is a bisect on ages and dates and a dictionary read: it never
calls durable_rules, holds no lock, is safe from any number of threads and survives
a fork. A new rule set makes a new Snapshot; the old one is simply dropped.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Mapping

from .bundle import BundleStore
from .compiler import JurisdictionTable, compile_and_evaluate
from .decision import Decision
from .errors import ProblemList
from .jurisdictions import Resolution, resolve_jurisdiction, territory_index
from .loader import load_rules
from .model import RuleSet, thaw

ENGINE_FORMAT = "2"  # bump when the meaning of a decision changes without a rule change


def _decision_json(decision: Decision, seen: dict[int, str]) -> str:
    """The decision as canonical JSON; effects shared by many classes are encoded once."""

    def encoded(value: object) -> str:
        text = seen.get(id(value))
        if text is None:
            text = seen[id(value)] = json.dumps(thaw(value), sort_keys=True, default=str)
        return text

    head = json.dumps([decision.jurisdiction, list(decision.age_range), decision.gpc,
                       decision.valid_from.isoformat() if decision.valid_from else None])
    return "[" + ",".join((head, encoded(decision.age_gate), encoded(decision.rights),
                           encoded(decision.opt_outs), encoded(decision.notices))) + "]"


def _version(ruleset: RuleSet, tables: Mapping[str, JurisdictionTable]) -> str:
    """A content hash of everything a response can show: decisions, texts, places."""
    sha = hashlib.sha256(ENGINE_FORMAT.encode())
    seen: dict[int, str] = {}  # id -> JSON of shared effect tuples (alive while tables are)
    for code in sorted(tables):
        table = tables[code]
        jur = table.jurisdiction
        sha.update(json.dumps([code, jur.name, jur.frameworks, jur.path, thaw(jur.authority)],
                              sort_keys=True, default=str).encode())
        for key in sorted(table.decisions, key=repr):
            sha.update(_decision_json(table.decisions[key], seen).encode())
    for (kind, item_id), entry in sorted(ruleset.catalog.items()):
        sha.update(f"{kind}\0{item_id}\0{entry.title}\0{entry.text}\0".encode())
    return sha.hexdigest()[:16]


class DateNotModelled(ValueError):
    """`as_of` is before every law the rules model for the place."""

    def __init__(self, code: str, earliest: date) -> None:
        self.code = code
        self.earliest = earliest
        super().__init__(f"the rules model {code} from {earliest.isoformat()}; "
                         f"ask for {earliest.isoformat()} or later")


@dataclass(frozen=True)
class Snapshot:
    """An activated rule set: the rule model, its decision tables and its version."""

    ruleset: RuleSet
    tables: Mapping[str, JurisdictionTable]
    version: str
    loaded_at: float
    load_seconds: float
    from_bundle: bool = False  # loaded from a stored compile of the same content (engine.bundle)

    def resolve(self, jurisdiction: str | None) -> Resolution:
        """Normalise a requested jurisdiction (raises InvalidJurisdiction)."""
        return resolve_jurisdiction(jurisdiction, self.ruleset.jurisdictions, self.ruleset.aliases,
                                    self.territories)

    @property
    def territories(self) -> Mapping[str, str]:
        cached = self.__dict__.get("_territories")
        if cached is None:
            cached = territory_index(self.ruleset.jurisdictions)
            object.__setattr__(self, "_territories", cached)
        return cached

    def decide(self, code: str, age: int | None, gpc: bool, as_of: date,
               context: str = "consumer") -> Decision:
        """Return the precomputed decision for a resolved jurisdiction code.

        Raises DateNotModelled for a day before every law the place's rules model."""
        return self.decision_of(self.class_key(code, age, gpc, as_of, context))

    def decision_of(self, class_key: tuple) -> Decision:
        """The decision of a class key (as `class_key` returns it)."""
        code, band, gpc, interval, context = class_key
        table = self.tables[code]
        if context not in table.contexts:
            context = table.contexts[0]  # no rule here speaks about the context
        return table.decisions[(band, gpc, interval, context)]

    def class_key(self, code: str, age: int | None, gpc: bool, as_of: date,
                  context: str = "consumer") -> tuple:
        """The input class of a request: equal keys get equal decisions."""
        table = self.tables[code]
        if table.supported_from is not None and as_of < table.supported_from:
            raise DateNotModelled(code, table.supported_from)
        # The requested context stays in the key (the response says which was asked for),
        # even where no rule tells the contexts apart and one decision serves both.
        return (code, table.axes.band_of(age), bool(gpc), table.axes.interval_of(as_of), context)

    def earliest_date(self) -> date | None:
        """The first day every place has a modelled answer (None: any day)."""
        days = [t.supported_from for t in self.tables.values() if t.supported_from]
        return max(days, default=None)

    def decisions(self) -> list[Decision]:
        """Every precomputed decision (for exhaustive checks and export)."""
        return [d for t in self.tables.values() for d in t.decisions.values()]


def build_snapshot(ruleset: RuleSet) -> Snapshot:
    """Evaluate `ruleset` into a Snapshot, or raise RuleSetInvalid."""
    started = time.perf_counter()
    problems = ProblemList()
    tables = compile_and_evaluate(ruleset, problems)
    problems.raise_if_any()
    return Snapshot(
        ruleset=ruleset,
        tables=tables,
        version=_version(ruleset, tables),
        loaded_at=time.time(),
        load_seconds=time.perf_counter() - started,
    )


def load_snapshot(rules_dir: str | Path, bundles: BundleStore | None = None) -> Snapshot:
    """Load, validate, compile and precompute the rules in `rules_dir`.

    With `bundles`, a rule set compiled before (same files, same engine) is loaded from
    its stored bundle instead, and a new one is stored there once compiled."""

    def compile_() -> Snapshot:
        started = time.perf_counter()
        # (Not with the collector paused: a compile's garbage has cycles, and the peak
        # memory would grow by hundreds of MB for a 15% faster compile.)
        snapshot = build_snapshot(load_rules(rules_dir))
        object.__setattr__(snapshot, "load_seconds", time.perf_counter() - started)
        return snapshot

    if bundles is None:
        return compile_()
    return bundles.load_or_compile(Path(rules_dir), compile_)
