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

from .compiler import JurisdictionTable, compile_and_evaluate
from .decision import Decision
from .errors import ProblemList
from .jurisdictions import Resolution, resolve_jurisdiction
from .loader import load_rules
from .model import RuleSet, thaw

ENGINE_FORMAT = "1"  # bump when the meaning of a decision changes without a rule change


def _decision_json(decision: Decision) -> dict:
    return {
        "jurisdiction": decision.jurisdiction,
        "age_range": list(decision.age_range),
        "gpc": decision.gpc,
        "valid_from": decision.valid_from.isoformat() if decision.valid_from else None,
        "age_gate": thaw(decision.age_gate),
        "rights": thaw(decision.rights),
        "opt_outs": thaw(decision.opt_outs),
        "notices": thaw(decision.notices),
    }


def _version(ruleset: RuleSet, tables: Mapping[str, JurisdictionTable]) -> str:
    """A content hash of everything a response can show: decisions, texts, places."""
    sha = hashlib.sha256(ENGINE_FORMAT.encode())
    for code in sorted(tables):
        table = tables[code]
        jur = table.jurisdiction
        sha.update(json.dumps([code, jur.name, jur.frameworks, jur.path, thaw(jur.authority)],
                              sort_keys=True, default=str).encode())
        for key in sorted(table.decisions, key=repr):
            sha.update(json.dumps(_decision_json(table.decisions[key]), sort_keys=True,
                                  default=str).encode())
    for (kind, item_id), entry in sorted(ruleset.catalog.items()):
        sha.update(f"{kind}\0{item_id}\0{entry.title}\0{entry.text}\0".encode())
    return sha.hexdigest()[:16]


@dataclass(frozen=True)
class Snapshot:
    """An activated rule set: the rule model, its decision tables and its version."""

    ruleset: RuleSet
    tables: Mapping[str, JurisdictionTable]
    version: str
    loaded_at: float
    load_seconds: float

    def resolve(self, jurisdiction: str | None) -> Resolution:
        """Normalise a requested jurisdiction (raises InvalidJurisdiction)."""
        return resolve_jurisdiction(jurisdiction, self.ruleset.jurisdictions, self.ruleset.aliases)

    def decide(self, code: str, age: int | None, gpc: bool, as_of: date) -> Decision:
        """Return the precomputed decision for a resolved jurisdiction code."""
        table = self.tables[code]
        band = table.axes.band_of(age)
        interval = table.axes.interval_of(as_of)
        return table.decisions[(band, bool(gpc), interval)]

    def class_key(self, code: str, age: int | None, gpc: bool, as_of: date) -> tuple:
        """The input class of a request: equal keys get equal decisions."""
        table = self.tables[code]
        return (code, table.axes.band_of(age), bool(gpc), table.axes.interval_of(as_of))

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


def load_snapshot(rules_dir: str | Path) -> Snapshot:
    """Load, validate, compile and precompute the rules in `rules_dir`."""
    started = time.perf_counter()
    ruleset = load_rules(rules_dir)
    snapshot = build_snapshot(ruleset)
    object.__setattr__(snapshot, "load_seconds", time.perf_counter() - started)
    return snapshot
