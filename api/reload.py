"""Reload rules and translations without a restart.

Each process (each gunicorn worker) runs one daemon thread that looks at the rules
and locales directories every RIGHTSGATE_RELOAD_INTERVAL seconds. A look is cheap:
file names, sizes and mtimes. Only when those change are the files read and hashed,
and only when the content changed is the rule set loaded, validated and compiled,
in that thread, off the request path. A valid set replaces the active one with a
single attribute assignment of an immutable `Active` (snapshot, localiser, response
cache); each request reads `reloader.active` once and keeps that object for its
whole life. An invalid set is refused, logged with every problem (file:line) and
shown by /healthz; the old set keeps serving.

How an operator triggers a reload: change the files (deploy a new directory and
swap a symlink for an atomic change) and wait one interval; or send gunicorn HUP,
which restarts the workers gracefully, and each new worker loads the current files
before it serves (see `after_fork`).

Threads and fork: the watcher is never started in the process that creates the app
when that process is going to fork (gunicorn's preload_app). It starts in each
worker: from gunicorn's post_fork hook, or lazily on the first request. A child
never inherits a thread object or a held lock from its parent (os.register_at_fork).
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
import threading
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine import RuleSetInvalid, Snapshot, load_snapshot
from engine.localise import Localiser

from .etag import AnswerMemo, ResponseCache

log = logging.getLogger("rightsgate.reload")

WATCHED_SUFFIXES = {"rules": (".yaml", ".yml"), "locales": (".po", ".pot", ".yaml")}
# A change is only acted on once the files have stopped changing for this long, so a
# rule set caught half-written (a `git pull` in progress) is not loaded.
SETTLE_SECONDS = 0.2
# rules/frameworks/x.yaml and locales/<lang>/LC_MESSAGES/messages.po are the deepest files.
MAX_DEPTH = 3
# A watched file is hashed up to this many bytes (its size is hashed too).
MAX_HASHED_BYTES = 64 * 1024 * 1024

_REGISTRY: weakref.WeakSet[RulesReloader] = weakref.WeakSet()


@dataclass(frozen=True)
class Fingerprint:
    """What a directory looks like: cheap stat data, and a hash of the content."""

    stat: tuple
    content: str


def _files(root: Path, suffixes: tuple[str, ...]) -> list[Path]:
    found = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        # Editors and VCS keep hidden scratch files; the loaders never read them. The
        # depth bound keeps a symlink loop from walking forever.
        depth = len(Path(dirpath).relative_to(root).parts)
        dirnames[:] = [] if depth >= MAX_DEPTH else sorted(d for d in dirnames if not d.startswith("."))
        found.extend(Path(dirpath) / name for name in filenames
                     if name.endswith(suffixes) and not name.startswith("."))
    return sorted(found)


def stat_fingerprint(root: Path, suffixes: tuple[str, ...]) -> tuple:
    """Return names, sizes and mtimes of the watched files under `root` (cheap)."""
    items: list[tuple] = [str(root.resolve())]
    for path in _files(root, suffixes):
        try:
            info = path.stat()
        except OSError:  # deleted between listing and stat: the next look sees it
            continue
        items.append((str(path.relative_to(root)), info.st_size, info.st_mtime_ns, info.st_ino))
    return tuple(items)


def _file_digest(path: Path) -> bytes | None:
    """Hash a regular file in bounded memory and time; None if it cannot be read.

    A rule file can be a symlink to a device or a pipe (git commits symlinks): reading
    /dev/zero whole would exhaust memory and opening a FIFO would block forever, so the
    file is opened without blocking and only a regular file is read, in chunks, up to
    MAX_HASHED_BYTES (the loader refuses anything near that size anyway).
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return f"not a regular file: mode {info.st_mode:o}".encode()
        sha = hashlib.sha256(str(info.st_size).encode() + b"\0")
        remaining = MAX_HASHED_BYTES
        try:
            while remaining > 0 and (chunk := handle.read(min(1 << 20, remaining))):
                sha.update(chunk)
                remaining -= len(chunk)
        except OSError:
            return None
    return sha.digest()


def content_fingerprint(root: Path, suffixes: tuple[str, ...]) -> str:
    """Return a hash of the names and bytes of the watched files under `root`."""
    sha = hashlib.sha256()
    for path in _files(root, suffixes):
        digest = _file_digest(path)
        if digest is None:
            continue
        sha.update(str(path.relative_to(root)).encode() + b"\0")
        sha.update(digest)
    return sha.hexdigest()


def fingerprint(root: Path, kind: str) -> Fingerprint:
    """Return the full fingerprint of a rules or locales directory."""
    suffixes = WATCHED_SUFFIXES[kind]
    return Fingerprint(stat_fingerprint(root, suffixes), content_fingerprint(root, suffixes))


@dataclass(frozen=True)
class Active:
    """Everything a request needs, swapped as one object."""

    snapshot: Snapshot
    localiser: Localiser
    locales_digest: str  # part of every ETag: new translations make new ETags
    cache: ResponseCache
    rules_content: str  # content hashes of the files this snapshot and localiser came from
    locales_content: str
    languages: dict = field(default_factory=dict)  # Accept-Language -> served tag, for `localiser`
    # raw request input -> finished answer (views.decision); dies with this snapshot and localiser
    answers: AnswerMemo = field(default_factory=lambda: AnswerMemo(0))


def _utc(ts: float | None) -> str | None:
    if ts is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


@dataclass
class ReloadStatus:
    """What /healthz reports about reloading."""

    last_checked_at: float | None = None
    last_reload_at: float | None = None
    last_error: dict[str, Any] | None = None


class RulesReloader:
    """Own the active rule set of this process and keep it in step with the files."""

    def __init__(self, rules_dir: Path, locales_dir: Path, interval: float, cache_size: int) -> None:
        self.rules_dir = Path(rules_dir)
        self.locales_dir = Path(locales_dir)
        self.interval = interval
        self.cache_size = cache_size
        self.status = ReloadStatus()
        self._reset_after_fork()
        # Start-up: an invalid rule set raises here, so the process never serves it.
        rules_fp = fingerprint(self.rules_dir, "rules")
        locales_fp = fingerprint(self.locales_dir, "locales")
        snapshot = load_snapshot(self.rules_dir)
        localiser = Localiser(self.locales_dir)
        self._seen = (rules_fp.stat, locales_fp.stat)
        self.active = Active(snapshot, localiser, locales_fp.content[:16], ResponseCache(cache_size),
                             rules_fp.content, locales_fp.content, answers=AnswerMemo(cache_size))
        self.status.last_reload_at = snapshot.loaded_at
        _REGISTRY.add(self)

    def _reset_after_fork(self) -> None:
        self._lock = threading.Lock()  # one look at a time
        self._start_lock = threading.Lock()  # separate, so a request never waits for a load
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- the watcher thread ------------------------------------------------------------

    def ensure_running(self) -> None:
        """Start this process's watcher thread unless it runs or reloading is off."""
        if self.interval <= 0 or self.running:
            return
        with self._start_lock:
            if self.running:
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="rightsgate-reload", daemon=True)
            self._thread.start()

    @property
    def running(self) -> bool:
        """Say whether this process's watcher thread is alive."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the watcher thread (tests and clean shutdown)."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.check_now()
            except Exception:  # the watcher must outlive any surprise; log and keep going
                log.exception("reload check failed", extra={"event": "reload_check_failed"})

    # -- one look ----------------------------------------------------------------------

    def check_now(self) -> bool:
        """Look at the files once; load and swap if they changed. Return True on a swap."""
        with self._lock:
            return self._check()

    def _check(self) -> bool:
        self.status.last_checked_at = time.time()
        stats = (stat_fingerprint(self.rules_dir, WATCHED_SUFFIXES["rules"]),
                 stat_fingerprint(self.locales_dir, WATCHED_SUFFIXES["locales"]))
        if stats == self._seen:
            return False
        time.sleep(SETTLE_SECONDS)
        rules_fp = fingerprint(self.rules_dir, "rules")
        locales_fp = fingerprint(self.locales_dir, "locales")
        if (rules_fp.stat, locales_fp.stat) != stats:
            return False  # still being written: look again next time
        self._seen = stats
        active = self.active
        rules_changed = rules_fp.content != active.rules_content
        locales_changed = locales_fp.content != active.locales_content
        if not rules_changed and not locales_changed:
            self.status.last_error = None  # back to exactly what is served
            return False
        snapshot, localiser = active.snapshot, active.localiser
        if rules_changed:
            try:
                snapshot = load_snapshot(self.rules_dir)
            except RuleSetInvalid as error:
                self._refuse("rules", error.summary(), [p.to_dict() for p in error.problems])
                rules_changed = False
            except Exception as error:  # an unreadable file must not stop serving
                log.exception("rules reload failed", extra={"event": "reload_failed"})
                self._refuse("rules", f"{type(error).__name__} while loading the rules", [])
                rules_changed = False
        if locales_changed:
            try:
                localiser = Localiser(self.locales_dir)
            except Exception as error:  # a broken .po must not stop serving
                log.exception("locales reload failed", extra={"event": "reload_failed"})
                self._refuse("locales", f"{type(error).__name__} while loading the translations", [])
                locales_changed = False
        if not rules_changed and not locales_changed:
            return False
        if (fingerprint(self.rules_dir, "rules").stat, fingerprint(self.locales_dir, "locales").stat) \
                != stats:
            self._seen = None  # changed while we loaded: load the newer files next time
            return False
        return self._swap(active, snapshot, localiser, rules_fp, locales_fp, rules_changed,
                          locales_changed)

    def _swap(self, active: Active, snapshot: Snapshot, localiser: Localiser, rules_fp: Fingerprint,
              locales_fp: Fingerprint, rules_changed: bool, locales_changed: bool) -> bool:
        same = snapshot.version == active.snapshot.version and not locales_changed
        error_kind = (self.status.last_error or {}).get("kind")
        if (error_kind == "rules" and rules_changed) or (error_kind == "locales" and locales_changed):
            self.status.last_error = None  # what was refused has been replaced by a good set
        # One assignment: a request sees the old Active or the new one, never a mix.
        self.active = Active(
            active.snapshot if same else snapshot,
            localiser,
            locales_fp.content[:16] if locales_changed else active.locales_digest,
            active.cache if same else ResponseCache(self.cache_size),
            rules_fp.content if rules_changed else active.rules_content,
            locales_fp.content if locales_changed else active.locales_content,
            {} if locales_changed else active.languages,
            active.answers if same else AnswerMemo(self.cache_size),
        )
        self.status.last_reload_at = time.time()
        log.info("rule files changed; no answer changed" if same else "reloaded", extra={
            "event": "reload", "version": self.active.snapshot.version,
            "previous_version": active.snapshot.version, "rules_changed": rules_changed,
            "locales_changed": locales_changed,
            "load_seconds": round(snapshot.load_seconds, 3) if rules_changed else None})
        return not same

    def _refuse(self, kind: str, summary: str, problems: list[dict]) -> None:
        self.status.last_error = {
            "at": _utc(time.time()),
            "kind": kind,
            "directory": str(self.rules_dir if kind == "rules" else self.locales_dir),
            "summary": summary,
            "problems": problems,
        }
        log.error("reload refused; still serving %s", self.active.snapshot.version,
                  extra={"event": "reload_refused", "kind": kind, "summary": summary,
                         "problems": problems, "version": self.active.snapshot.version})

    # -- reporting ---------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """Return the reload part of /healthz."""
        status = self.status
        return {
            "interval_seconds": self.interval,
            "watcher_running": self.running,
            "last_checked_at": _utc(status.last_checked_at),
            "last_reload_at": _utc(status.last_reload_at),
            "last_error": status.last_error,
        }


def after_fork() -> None:
    """In a freshly forked worker: catch up with the files, then start watching.

    With preload_app the worker was forked from a master that loaded the rules at
    start-up; if they changed since (the worker replaces one that died, or HUP), load
    the current ones before the first request is served.
    """
    for reloader in list(_REGISTRY):
        try:
            reloader.check_now()
        except Exception:
            log.exception("reload check after fork failed", extra={"event": "reload_check_failed"})
        reloader.ensure_running()


def _forget_threads_in_child() -> None:
    # The parent's watcher thread does not exist in the child, and its lock may have
    # been held at the moment of the fork; give the child fresh ones.
    for reloader in list(_REGISTRY):
        reloader._reset_after_fork()


os.register_at_fork(after_in_child=_forget_threads_in_child)
