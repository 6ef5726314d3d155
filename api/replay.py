"""Past rule sets, answering again: `version=` on /v1/decision and the old side of /v1/changes.

A past version is one the archive (api.archive) still names. Its files are in the
state directory; loading them is a stored bundle (~0.4 s) or a compile (seconds), so
it happens on demand, once, and only the `keep` most recently used past sets stay in
memory (each is a Serving: its Snapshot plus its own caches and templates, so a
replayed answer costs what a current one does once it has been asked for).

A past Serving answers in the current translations (the archive keeps rule files, not
locales); it is rebuilt when they change. A set that this engine compiles to another
version than the one archived (the engine changed what a decision means since) cannot
be replayed faithfully and is refused like a pruned one.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

from engine import BundleStore, Snapshot, load_snapshot

from .archive import NotArchived, VersionArchive, is_version
from .serving import RuleFiles, Serving

log = logging.getLogger("rightsgate.replay")

# Past rule sets kept in memory per process (each is about as big as the current one).
KEEP_PAST = 2


class PastServings:
    """Servings for archived rule set versions, loaded on demand, the last `keep` used kept."""

    def __init__(self, archive: VersionArchive, sets: Path, bundles: BundleStore | None,
                 keep: int = KEEP_PAST,
                 load: Callable[[Path, BundleStore | None], Snapshot] = load_snapshot) -> None:
        self.archive = archive
        self.sets = Path(sets)
        self.bundles = bundles
        self.keep = keep
        self._load = load
        self._items: OrderedDict[str, Serving] = OrderedDict()
        self.loads = 0  # past sets loaded from the archive (for tests and stats)
        self.reset_locks()

    def reset_locks(self) -> None:
        """Fresh locks (a forked child must not inherit one held by its parent)."""
        self._lock = threading.Lock()  # the LRU itself: held for dictionary operations only
        self._loading = threading.Lock()  # one load at a time: loads are rare and CPU-bound

    def serving(self, version: str, current: Serving) -> Serving:
        """The Serving that answers as rule set `version` did, in `current`'s translations.

        Raises NotArchived when the version is malformed, unknown, pruned or cannot be
        reproduced. A kept past Serving is only used while the archive still names its
        version (one small file read), so every worker refuses a pruned version alike."""
        if version == current.version:
            return current
        why = self.unavailable(version, current)
        if why is not None:
            with self._lock:
                self._items.pop(version, None)
            raise NotArchived(version, why)
        found = self._cached(version, current)
        if found is not None:
            return found
        with self._loading:
            found = self._cached(version, current)  # loaded by another request meanwhile
            if found is not None:
                return found
            with self._lock:
                kept = self._items.get(version)
            snapshot = kept.snapshot if kept is not None else self._from_archive(version)
            past = Serving(snapshot, current.localiser, locales_digest=current.locales_digest,
                           rules=RuleFiles(self.archive.digest(version) or "", (), "archive"),
                           locales_content=current.locales_content, settings=current.settings)
            with self._lock:
                self._items[version] = past
                self._items.move_to_end(version)
                while len(self._items) > self.keep:
                    self._items.popitem(last=False)
            return past

    def unavailable(self, version: str, current: Serving) -> str | None:
        """Why `version` cannot be answered with, without loading it (None: it may be)."""
        if version == current.version:
            return None
        if not is_version(version):
            return "is not a rule set version (16 hex digits, as in ruleset.version)"
        if self.archive.digest(version) is None:  # pruned entries are deleted
            return self.unknown(version)
        return None

    def _cached(self, version: str, current: Serving) -> Serving | None:
        with self._lock:
            past = self._items.get(version)
            if past is None or past.localiser is not current.localiser or past.settings != current.settings:
                return None  # (new translations: rebuilt around the same Snapshot)
            self._items.move_to_end(version)
            return past

    def _from_archive(self, version: str) -> Snapshot:
        digest = self.archive.digest(version)
        if digest is None:  # pruned since it was looked at
            raise NotArchived(version, self.unknown(version))
        try:
            snapshot = self._load(self.sets / digest, self.bundles)
        except Exception:  # a damaged or pruned copy: not replayable, and logged
            log.exception("could not load an archived rule set", extra={"event": "archive_unusable",
                                                                        "version": version})
            raise NotArchived(version, "is archived but its rule files could not be loaded") from None
        self.loads += 1
        if snapshot.version != version:
            log.warning("an archived rule set compiles to another version now", extra={
                "event": "archive_version_changed", "version": version, "now": snapshot.version})
            raise NotArchived(version, f"is archived, but this engine now builds its rule files into "
                                       f"version {snapshot.version}; it cannot be replayed exactly")
        return snapshot

    def unknown(self, version: str) -> str:
        """Why `version` is not available, naming the versions that are."""
        kept = [entry.version for entry in self.archive.kept()]
        listed = ", ".join(kept) if kept else "only the current one"
        return (f"is not a rule set this service activated and still keeps (the last "
                f"{self.archive.size}, newest first: {listed})")


__all__ = ["KEEP_PAST", "PastServings"]
