"""GET /v1/changes: what changed for whom between two rule set versions this service activated.

The comparison is engine.diff's (`rightsgate diff`): places and laws added or removed,
English texts changed, then every answer that differs, per place and run of ages, with
its GPC, account kind and first day, worded by engine.sentences ("Portugal, ages 13-15
from 2019-08-09: people now need a parent's consent ..."). Both sides come from the
archive (api.replay); the newer side defaults to the current rule set.

Comparing costs about a second and loading a past set about half a second more (a
compile if its bundle was pruned), so each pair's encoded answer is kept, for the last
KEEP_PAIRS pairs asked; one comparison runs at a time. A pair's answer never changes
(both sides are immutable), so the body's own hash is its ETag.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from engine.diff import DiffReport, diff_report
from engine.sentences import sentence

from .archive import NotArchived
from .errors import FieldError, validation_problem
from .etag import CachedBody, body_etag
from .replay import PastServings
from .responses import ChangesSchema
from .serving import Serving, encode

KEEP_PAIRS = 16
CHANGES_SCHEMA = ChangesSchema()


def changes_document(report: DiffReport) -> dict[str, Any]:
    """The /v1/changes body for `report` (every change with its sentence)."""
    wording = report.wording
    names = {**dict(report.removed), **report.place_names}
    return {
        "from": report.old_version, "to": report.new_version, "changed": report.changed,
        "added": [{"code": c, "name": n, "frameworks": list(f)} for c, n, f in report.added],
        "removed": [{"code": c, "name": n} for c, n in report.removed],
        "frameworks_added": list(report.frameworks_added),
        "frameworks_removed": list(report.frameworks_removed),
        "texts": list(report.texts),
        "changes": [{
            "jurisdiction": c.jurisdiction, "name": names.get(c.jurisdiction, c.jurisdiction),
            "ages": c.ages, "gpc": c.gpc, "context": c.context,
            "as_of": c.as_of.isoformat() if c.as_of else None,
            "what": c.what, "before": c.before, "after": c.after,
            "sentence": sentence(c, wording) if wording is not None else str(c),
        } for c in report.changes],
    }


class ChangeLog:
    """The answers of /v1/changes, one per (since, until) pair, the last `keep` kept."""

    def __init__(self, past: PastServings, keep: int = KEEP_PAIRS) -> None:
        self.past = past
        self.keep = keep
        self._items: OrderedDict[tuple[str, str], CachedBody] = OrderedDict()
        self.computed = 0  # comparisons made (a cached pair costs none)
        self.reset_locks()

    def reset_locks(self) -> None:
        """Fresh locks (a forked child must not inherit one held by its parent)."""
        self._lock = threading.Lock()  # the kept answers: held for dictionary operations only
        self._computing = threading.Lock()

    def answer(self, since: str, until: str | None, current: Serving) -> CachedBody:
        """The encoded comparison of `since` with `until` (default: the current rule set).

        Raises a 422 problem naming `since` and/or `until` when either is not archived."""
        newer = until if until is not None else current.version
        key = (since, newer)
        # Both sides named at once when neither is archived (asked every time, so a pruned
        # version is refused even where its comparison is still kept).
        errors = [FieldError(name, "query", why) for name, version in (("since", since), ("until", newer))
                  if (why := self.past.unavailable(version, current)) is not None]
        if errors:
            raise validation_problem(errors)
        found = self._kept(key)
        if found is not None:
            return found
        with self._computing:  # one comparison at a time: the others wait, then find it kept
            found = self._kept(key)
            if found is not None:
                return found
            old = self._side("since", since, current)
            new = self._side("until", newer, current) if newer != since else old
            body = encode(CHANGES_SCHEMA.dump(changes_document(diff_report(old.snapshot, new.snapshot))))
            found = CachedBody(body, body_etag(f"{since}-{newer}", body))
            self.computed += 1
            with self._lock:
                self._items[key] = found
                while len(self._items) > self.keep:
                    self._items.popitem(last=False)
            return found

    def _kept(self, key: tuple[str, str]) -> CachedBody | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def _side(self, name: str, version: str, current: Serving) -> Serving:
        try:
            return self.past.serving(version, current)
        except NotArchived as missing:  # archived, but not loadable or not reproducible
            raise validation_problem([FieldError(name, "query", missing.why)]) from None


__all__ = ["KEEP_PAIRS", "ChangeLog", "changes_document"]
