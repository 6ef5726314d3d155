"""A place's answers at a glance: age bands x GPC, with the age gate and every opt-out.

The bands are the runs of ages whose answers are the same (with and without GPC), so
the matrix has one row per outcome the legal team must check, not one per year of age.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from .decision import Decision
from .model import MAX_AGE
from .snapshot import Snapshot


@dataclass(frozen=True)
class Cell:
    """One age band with or without GPC: the gate and each opt-out's mechanism."""

    gate: str  # status
    consent_by: str | None
    opt_outs: tuple[tuple[str, str, str, bool], ...]  # (id, mechanism, default, gpc_applied)
    rule: str | None


@dataclass(frozen=True)
class Row:
    ages: str
    low: int | None  # None: the age was not given
    high: int | None
    without_gpc: Cell
    with_gpc: Cell


def _cell(decision: Decision) -> Cell:
    gate = decision.age_gate
    return Cell(
        gate=gate.get("status"),
        consent_by=gate.get("consent_by"),
        opt_outs=tuple((o["id"], o.get("mechanism"), o.get("default"), bool(o.get("gpc_applied")))
                       for o in decision.opt_outs),
        rule=gate.get("rule"),
    )


def age_matrix(snapshot: Snapshot, code: str, day: date, context: str = "consumer") -> list[Row]:
    """The rows of `code`'s matrix on `day` (raises DateNotModelled before the rules model it)."""
    rows: list[Row] = []

    def cells(age: int | None) -> tuple[Cell, Cell]:
        return (_cell(snapshot.decide(code, age, False, day, context)),
                _cell(snapshot.decide(code, age, True, day, context)))

    rows.append(Row("age not given", None, None, *cells(None)))
    start, current = 0, cells(0)
    for age in range(1, MAX_AGE + 2):
        following = cells(age) if age <= MAX_AGE else None
        if following != current:
            label = f"age {start}" if start == age - 1 else f"ages {start}-{age - 1}"
            rows.append(Row(label, start, age - 1, *current))
            if following is not None:
                start, current = age, following
    return rows


def opt_out_ids(rows: list[Row]) -> list[str]:
    """Every opt-out that appears in any row, in first-seen order (the matrix's columns)."""
    seen: dict[str, None] = {}
    for row in rows:
        for cell in (row.without_gpc, row.with_gpc):
            for item in cell.opt_outs:
                seen.setdefault(item[0], None)
    return list(seen)
