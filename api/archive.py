"""The archive: which rule set files each activated rule set version was built from.

A response names its rule set by `ruleset.version` (a content hash of every decision
and text); the state directory (api.reload.RuleState) keeps the files of each
activated set by *their* digest. The archive maps one to the other, on disk beside
them, so `GET /v1/changes?since=VERSION` and `version=` on /v1/decision can find a
set any worker activated, also after a restart:

    <state root>/versions/<version>     holds the set's digest; its mtime is when it
                                        was last activated

Recording is one atomic rename per activation (every worker may record the same
version; the content is the same). Only the `size` most recently activated versions
are kept; RuleState keeps their sets and may prune the others. A version is 16
lowercase hex digits and nothing else is ever used as a file name, so a request can
never name a path.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("rightsgate.archive")

VERSION_RE = re.compile(r"[0-9a-f]{16}")
DIGEST_RE = re.compile(r"[0-9a-f]{64}")


def is_version(text: object) -> bool:
    """Whether `text` is written like a ruleset.version (16 lowercase hex digits)."""
    return isinstance(text, str) and VERSION_RE.fullmatch(text) is not None


class NotArchived(LookupError):
    """A version this service cannot answer with (malformed, unknown, pruned, not reproducible);
    `why` says which, in words that follow the field name ("since is not ...")."""

    def __init__(self, version: str, why: str) -> None:
        super().__init__(why)
        self.version = version
        self.why = why


@dataclass(frozen=True)
class Archived:
    """One archived rule set: its version, the digest of its files, when it was last activated."""

    version: str
    digest: str
    activated_at: float


class VersionArchive:
    """The last `size` activated rule set versions and the digests of their files."""

    def __init__(self, root: Path, size: int) -> None:
        self.directory = Path(root) / "versions"
        self.size = max(1, size)
        self._warned = False

    def record(self, version: str, digest: str) -> None:
        """Note that `version` (built from the set `digest`) was just activated; prune the oldest."""
        if not is_version(version) or not DIGEST_RE.fullmatch(digest):
            raise ValueError("not a rule set version and digest")
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            scratch = self.directory / f".{version}.{os.getpid()}.{threading.get_ident()}"
            scratch.write_text(digest + "\n", encoding="ascii")
            os.replace(scratch, self.directory / version)  # also the newest mtime: a roll-back counts
            for old in self.entries()[self.size:]:
                (self.directory / old.version).unlink(missing_ok=True)
        except OSError as error:
            if not self._warned:
                log.warning("could not archive the rule set version (%s)", error.strerror,
                            extra={"event": "archive_unwritable"})
            self._warned = True

    def digest(self, version: str) -> str | None:
        """The digest of the files of archived `version`, or None (never activated, or pruned)."""
        if not is_version(version):
            return None
        try:
            digest = (self.directory / version).read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            return None
        return digest if DIGEST_RE.fullmatch(digest) else None

    def entries(self) -> list[Archived]:
        """Every archived version, most recently activated first."""
        found = []
        try:
            names = [p for p in self.directory.iterdir() if is_version(p.name)]
        except OSError:
            return []
        for path in names:
            try:
                activated_at = path.stat().st_mtime
                digest = path.read_text(encoding="ascii").strip()
            except (OSError, UnicodeDecodeError):  # pruned by another worker meanwhile
                continue
            if DIGEST_RE.fullmatch(digest):
                found.append(Archived(path.name, digest, activated_at))
        return sorted(found, key=lambda a: (a.activated_at, a.version), reverse=True)

    def kept(self) -> list[Archived]:
        """The versions `since` and `version=` may name: the newest `size`."""
        return self.entries()[:self.size]


__all__ = ["Archived", "NotArchived", "VersionArchive", "is_version"]
