"""A Decision: what applies to one input class, language-neutral and immutable."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Mapping


@dataclass(frozen=True)
class Step:
    """One rule that contributed to an effect, and the age range it fired for."""

    rule: str
    at_least: int | None
    below: int | None
    include_unknown: bool
    modify: bool


@dataclass(frozen=True)
class Decision:
    """The outcome for one input class of one jurisdiction.

    `age_gate`, `rights`, `opt_outs` and `notices` hold ids, states, rule ids and
    citations; titles and texts are added per language by the localiser. `steps`
    maps each effect (kind, id) to the rules that produced it, in the order applied,
    so any outcome can be explained.
    """

    jurisdiction: str
    frameworks: tuple[str, ...]
    path: tuple[str, ...]
    age_range: tuple[int | None, int | None]  # the class's ages, [start, end)
    gpc: bool
    valid_from: date | None
    valid_until: date | None
    age_gate: Mapping
    rights: tuple[Mapping, ...]
    opt_outs: tuple[Mapping, ...]
    notices: tuple[Mapping, ...]
    steps: Mapping[tuple[str, str], tuple[Step, ...]]

    def effects(self) -> list[tuple[str, Mapping]]:
        """Every effect with its kind, age gate first."""
        return [("age_gate", self.age_gate),
                *(("right", r) for r in self.rights),
                *(("opt_out", o) for o in self.opt_outs),
                *(("notice", n) for n in self.notices)]
