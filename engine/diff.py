"""What a rule change changes: compare two Snapshots over the whole input space.

Both snapshots are asked every jurisdiction x age (0-130 and none) x GPC x every
date boundary either of them knows, and each difference is reported once for the
run of ages it covers.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from .classes import EPOCH
from .decision import Decision
from .model import MAX_AGE
from .snapshot import Snapshot


@dataclass(frozen=True)
class Change:
    jurisdiction: str
    ages: str
    gpc: bool | None  # None: with or without GPC
    as_of: date | None  # None: at any date
    what: str
    before: object
    after: object

    def __str__(self) -> str:
        gpc = "" if self.gpc is None else f", GPC {'on' if self.gpc else 'off'}"
        when = f", as of {self.as_of}" if self.as_of else ""
        return f"{self.jurisdiction}, {self.ages}{gpc}{when}: {self.what}: {self.before} -> {self.after}"


def _flat(decision: Decision | None) -> dict[str, object]:
    if decision is None:
        return {}
    out: dict[str, object] = {}
    for key in ("status", "digital_consent_age", "basis", "consent_by", "rule"):
        out[f"age_gate.{key}"] = decision.age_gate.get(key)
    for section in ("rights", "opt_outs", "notices"):
        for item in getattr(decision, section):
            keys = ("mechanism", "default", "gpc_applied", "consent_by") if section == "opt_outs" else ()
            out[f"{section}.{item['id']}"] = "present"
            for key in keys:
                out[f"{section}.{item['id']}.{key}"] = item.get(key)
            out[f"{section}.{item['id']}.rule"] = item.get("rule")
    return out


def _days(old: Snapshot, new: Snapshot, code: str) -> list[date]:
    days = {EPOCH}
    for snap in (old, new):
        if code in snap.tables:
            days.update(snap.tables[code].axes.day_starts)
    return sorted(days)


def _age_label(low: int | None, high: int | None) -> str:
    if low is None:
        return "age not given"
    return f"age {low}" if low == high else f"ages {low}-{high}"


def diff_snapshots(old: Snapshot, new: Snapshot) -> list[Change]:
    """Every difference between two rule sets' decisions, ages grouped into runs."""
    changes: list[Change] = []
    for code in sorted(set(old.tables) | set(new.tables)):
        for day in _days(old, new, code):
            for gpc in (False, True):
                runs: dict[tuple, list] = {}
                for age in [None, *range(MAX_AGE + 1)]:
                    before = _flat(old.decide(code, age, gpc, day)) if code in old.tables else {}
                    after = _flat(new.decide(code, age, gpc, day)) if code in new.tables else {}
                    for key in sorted(set(before) | set(after)):
                        if before.get(key) != after.get(key):
                            change = (key, before.get(key, "absent"), after.get(key, "absent"))
                            span = runs.setdefault(change, [])
                            if span and age is not None and span[-1][1] == age - 1:
                                span[-1][1] = age
                            else:
                                span.append([age, age])
                for (key, was, now), spans in runs.items():
                    for low, high in spans:
                        changes.append(Change(code, _age_label(low, high), gpc,
                                              None if day == EPOCH else day, key, was, now))
    return _merge_gpc(changes)


def _merge_gpc(changes: list[Change]) -> list[Change]:
    """Report a change once when it is the same with and without GPC."""
    keyed: dict[tuple, list[Change]] = {}
    for change in changes:
        key = (change.jurisdiction, change.ages, change.as_of, change.what, repr(change.before),
               repr(change.after))
        keyed.setdefault(key, []).append(change)
    merged = []
    for group in keyed.values():
        if len(group) == 2:
            merged.append(replace(group[0], gpc=None))
        else:
            merged.extend(group)
    return merged


__all__ = ["Change", "diff_snapshots"]
