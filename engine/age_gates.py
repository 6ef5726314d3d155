"""The age-gate table of a place: every age band and the gate a signup flow applies to it.

A signup flow that holds a person's age needs one thing per place: the outcome of the age
gate for that age (allowed, parental consent, blocked) and the facts behind it. Ages only
matter at the thresholds the rules name, so the Snapshot already holds every band; this
reads them for one date, per context (`consumer`, `school`), and joins neighbouring bands
whose gate is the same. Language-neutral: ids, numbers and citations, no words (the
decision endpoint and the static export's decision files carry those).

The gate does not depend on GPC (GPC only turns opt-outs off); the bands are read with
GPC off, and tests/edge/test_export.py checks that GPC on gives the same table.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from .decision import Decision
from .model import CONTEXTS, MAX_AGE, thaw
from .render import PUBLIC_GATE
from .snapshot import Snapshot


def _gate(decision: Decision) -> dict[str, Any]:
    gate = thaw(decision.age_gate)
    return {key: gate[key] for key in PUBLIC_GATE if key in gate}


def age_gate_table(snapshot: Snapshot, code: str, as_of: date) -> dict[str, Any]:
    """The age gate of every age in place `code` on `as_of` (raises DateNotModelled before
    the place's earliest modelled day).

    Returns `{"jurisdiction", "as_of", "valid": {"from", "until"}, "unknown_age": gate,
    "contexts": {context: [{"min_age", "max_age", **gate}, ...]}}`: bands cover 0 to
    MAX_AGE inclusive, in order, and `valid` is the span of days around `as_of` over which
    every decision the table was read from stays the same (None: open-ended), so the table
    holds at least that long.
    """
    table = snapshot.tables[code]
    unknown = snapshot.decide(code, None, False, as_of)
    starts, ends = [unknown.valid_from], [unknown.valid_until]
    contexts: dict[str, list[dict[str, Any]]] = {}
    for context in CONTEXTS:
        bands: list[dict[str, Any]] = []
        for band in range(len(table.axes.age_starts)):
            low, high = table.axes.band_range(band)
            assert low is not None and high is not None  # a real band, not the unknown age
            decision = snapshot.decide(code, low, False, as_of, context)
            starts.append(decision.valid_from)
            ends.append(decision.valid_until)
            gate = _gate(decision)
            if bands and {k: v for k, v in bands[-1].items() if k not in ("min_age", "max_age")} == gate:
                bands[-1]["max_age"] = min(high, MAX_AGE + 1) - 1
            else:
                bands.append({"min_age": low, "max_age": min(high, MAX_AGE + 1) - 1, **gate})
        contexts[context] = bands
    known_starts = [d for d in starts if d is not None]
    known_ends = [d for d in ends if d is not None]
    return {
        "jurisdiction": code,
        "as_of": as_of.isoformat(),
        "valid": {"from": max(known_starts).isoformat() if known_starts else None,
                  "until": min(known_ends).isoformat() if known_ends else None},
        "unknown_age": _gate(unknown),
        "contexts": contexts,
    }
