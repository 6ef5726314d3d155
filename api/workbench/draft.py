"""The working copy: a directory of rule files the legal team edits before they go live.

Comparing it with the live rules means compiling it (a stored bundle when its files
were compiled before), running its example cases, diffing every answer and finding the
translations its English edits make stale. That takes seconds, so the result is kept
for as long as neither the live set nor the working copy's files change.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from engine import BundleStore, RuleProblem, RuleSetInvalid, Snapshot, load_snapshot
from engine.bundle import content_key
from engine.cases import CaseResult, run_cases
from engine.coverage import translation_gaps
from engine.diff import DiffReport, diff_report
from engine.localise import Localiser


@dataclass
class Comparison:
    """The live rules against the working copy, or why the working copy cannot be read."""

    draft_version: str | None = None
    report: DiffReport | None = None
    failing_cases: list[CaseResult] = field(default_factory=list)
    cases_run: int = 0
    # language -> English texts (context, msgid) the edit leaves without a current translation
    stale: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    problems: list[RuleProblem] = field(default_factory=list)  # the working copy is invalid


class Draft:
    """The working copy at `directory` (None: none configured)."""

    def __init__(self, directory: Path | None, bundles: BundleStore | None) -> None:
        self.directory = Path(directory) if directory else None
        self.bundles = bundles
        self._lock = threading.Lock()  # one comparison at a time; the others wait for it
        self._memo: tuple[tuple, Comparison] | None = None

    def compare(self, live: Snapshot, localiser: Localiser, today: date) -> Comparison:
        """Compare the working copy with `live` (kept until either changes)."""
        assert self.directory is not None
        with self._lock:
            try:
                key = (live.version, content_key(self.directory), today, id(localiser))
            except OSError as error:
                return Comparison(problems=[RuleProblem(self.directory.name, None,
                                                        f"cannot read the working copy: {error.strerror}")])
            if self._memo is not None and self._memo[0] == key:
                return self._memo[1]
            comparison = self._compare(live, localiser, today)
            self._memo = (key, comparison)
            return comparison

    def _compare(self, live: Snapshot, localiser: Localiser, today: date) -> Comparison:
        try:
            draft = load_snapshot(self.directory, self.bundles)
        except RuleSetInvalid as error:
            return Comparison(problems=list(error.problems))
        results = run_cases(draft, today)
        before = {tag: set(gaps) for tag, gaps in translation_gaps(localiser, live.ruleset).items()}
        stale = {tag: sorted(set(gaps) - before.get(tag, set()))
                 for tag, gaps in translation_gaps(localiser, draft.ruleset).items()}
        return Comparison(
            draft_version=draft.version,
            report=diff_report(live, draft),
            failing_cases=[r for r in results if not r.passed],
            cases_run=len(results),
            stale={tag: gaps for tag, gaps in stale.items() if gaps},
        )
