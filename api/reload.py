"""Reload rules and translations without a restart; remember the last good rule set.

Each process (each gunicorn worker) runs one daemon thread that looks at the rules
and locales directories every RIGHTSGATE_RELOAD_INTERVAL seconds. A look is cheap:
file names, sizes and mtimes. When those change, the watcher reads the files twice,
SETTLE_SECONDS apart, and acts only when their *contents* were the same both times
(a file still being written is looked at again next interval). If the rules
directory holds a MANIFEST.sha256 (written last by the deploy tooling), the set is
activated only when every file's digest matches it and it lists every file: that is
the completion signal for in-place edits.

The rule files read are copied, content-addressed, into the state directory
(RIGHTSGATE_STATE_DIR) and loaded from that copy, so what is activated is exactly
what was read. Loading, validating and compiling happen in the watcher's thread, off
the request path. The reloader does not answer requests itself: it asks the current
Serving (api.serving) for its `successor` and swaps it in with one attribute
assignment; each request reads `reloader.serving` once and keeps that object.

A valid set, once activated, is recorded as the state directory's `current`
(atomically: written to a temporary name, then renamed). A worker that starts later
(gunicorn HUP, a replaced worker) first takes up that set (`after_fork`), then looks
at the files: so every worker serves the newest set any worker activated, even while
the files on disk are invalid or missing, never the older one the master loaded.

Each activated set is also archived under its ruleset.version (api.archive), the last
RIGHTSGATE_ARCHIVE_VERSIONS of them, and their files are never pruned while archived:
earlier sets answer again from there (api.replay: `version=`; api.changes: /v1/changes).

An invalid set, an unreadable file or a manifest that does not match is refused,
logged with every problem (file:line) and shown by /healthz; the old set keeps
serving. /healthz names files relative to the rules directory only.

Threads and fork: the watcher is never started in the process that creates the app
when that process is going to fork (gunicorn's preload_app). It starts in each
worker: from gunicorn's post_fork hook, or lazily on the first request. A child
never inherits a thread object or a held lock from its parent (os.register_at_fork).
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import stat
import threading
import time
import weakref
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine import BundleStore, RuleProblem, RuleSetInvalid, Snapshot, load_snapshot
from engine.cases import check_cases, failing_case_problems
from engine.localise import Localiser
from engine.yamlsource import MAX_FILE_BYTES

from .archive import VersionArchive
from .changes import ChangeLog
from .replay import PastServings
from .serving import RuleFiles, Serving, ServingSettings

log = logging.getLogger("rightsgate.reload")

MANIFEST = "MANIFEST.sha256"
WATCHED_SUFFIXES = {"rules": (".yaml", ".yml", MANIFEST), "locales": (".po", ".pot", ".yaml")}
# The contents must read the same twice this far apart before a change is acted on.
SETTLE_SECONDS = 0.2
# rules/frameworks/x.yaml and locales/<lang>/LC_MESSAGES/messages.po are the deepest files.
MAX_DEPTH = 3
# A watched locales file is hashed up to this many bytes (its size is hashed too).
MAX_HASHED_BYTES = 64 * 1024 * 1024
# Rule sets kept in the state directory besides `current` and the archived ones (each is a
# few hundred KB): the newest staged, refused ones included (another worker may be loading one).
KEEP_SETS = 8
# Activated rule set versions kept by default for /v1/changes and replays (api.archive).
ARCHIVE_VERSIONS = 16

_REGISTRY: weakref.WeakSet[RulesReloader] = weakref.WeakSet()


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
            items.append((str(path.relative_to(root)), "unreadable"))
            continue
        # The mode and ctime too: a chmod makes a file unreadable without touching its mtime.
        items.append((str(path.relative_to(root)), info.st_size, info.st_mtime_ns, info.st_ino,
                      info.st_mode, info.st_ctime_ns))
    return tuple(items)


def _read_bounded(path: Path, limit: int) -> tuple[bytes | None, str | None]:
    """(bytes up to `limit` + 1, None), or (None, why) for a file that is not a readable regular file.

    A rule file can be a symlink to a device or a pipe (git commits symlinks): reading
    /dev/zero whole would exhaust memory and opening a FIFO would block forever, so the
    file is opened without blocking and only a regular file is read.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # OSError: the caller names the file
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None, f"not a regular file: mode {info.st_mode:o}"
        chunks, size = [], 0
        while size <= limit and (chunk := handle.read(min(1 << 20, limit + 1 - size))):
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks), None


@dataclass
class RulesLook:
    """One read of a rules directory: each file's bytes and digest, and what could not be read."""

    digest: str  # over every relative name and content: "the same files"
    files: dict[str, bytes] = field(default_factory=dict)  # name -> bytes (copyable files only)
    digests: dict[str, str] = field(default_factory=dict)  # name -> sha256 hex
    copyable: bool = True  # False: a device, pipe or oversized file; load in place (it is refused)
    problems: list[RuleProblem] = field(default_factory=list)  # unreadable files, a missing directory

    def manifest_problems(self) -> list[RuleProblem]:
        """What a MANIFEST.sha256 in the set says is missing or different (none without one)."""
        text = self.files.get(MANIFEST)
        if text is None:
            return []
        listed: dict[str, str] = {}
        for number, line in enumerate(text.decode("utf-8", "replace").splitlines(), 1):
            if not line.strip():
                continue
            digest, _, name = line.strip().partition(" ")
            name = name.strip().lstrip("*")
            name = name[2:] if name.startswith("./") else name
            if len(digest) != 64 or not name:
                return [RuleProblem(MANIFEST, number, "not a sha256sum line",
                                    "write it with: sha256sum FILES > MANIFEST.sha256", code="manifest")]
            listed[name] = digest.lower()
        problems = []
        present = {name: digest for name, digest in self.digests.items() if name != MANIFEST}
        for name in sorted(set(present) | set(listed)):
            if name not in listed:
                problems.append(RuleProblem(name, None, "not listed in MANIFEST.sha256",
                                            "the deploy is incomplete, or list it", code="manifest"))
            elif name not in present:
                problems.append(RuleProblem(name, None, "listed in MANIFEST.sha256 but missing",
                                            "the deploy is incomplete", code="manifest"))
            elif present[name] != listed[name]:
                problems.append(RuleProblem(name, None, "content does not match MANIFEST.sha256",
                                            "the file is still being written, or the manifest is stale",
                                            code="manifest"))
        return problems

    def rule_files(self, origin: str) -> RuleFiles:
        return RuleFiles(self.digest, tuple(sorted(self.digests.items())), origin)


def look_rules(root: Path) -> RulesLook:
    """Read every rule file under `root` (bounded), hash it, and note what cannot be read."""
    sha = hashlib.sha256()
    look = RulesLook("")
    if not root.is_dir():
        look.problems.append(RuleProblem(f"{root.name}/", None, "rules directory not found",
                                         "pass the folder that holds jurisdictions.yaml", code="missing"))
    for path in _files(root, WATCHED_SUFFIXES["rules"]) if root.is_dir() else []:
        name = str(path.relative_to(root))
        try:
            data, special = _read_bounded(path, MAX_FILE_BYTES)
        except FileNotFoundError:
            if not os.path.lexists(path):
                continue  # deleted between listing and reading: the next look sees it
            data, special = None, "a symlink to nothing"
            look.problems.append(RuleProblem(name, None, "cannot read file: it is a symlink to nothing",
                                             code="unreadable"))
        except OSError as error:
            look.problems.append(RuleProblem(
                name, None, f"cannot read file: {error.strerror or type(error).__name__}",
                "make it readable by the user the service runs as (e.g. chmod 644)", code="unreadable"))
            data, special = None, f"unreadable: {error.errno}"
        if data is None or len(data) > MAX_FILE_BYTES:
            look.copyable = False  # loaded in place, where the loader refuses it with its reason
            digest = hashlib.sha256((special or f"oversized: {len(data or b'')}").encode()).hexdigest()
        else:
            digest = hashlib.sha256(data).hexdigest()
            look.files[name] = data
        look.digests[name] = digest
        sha.update(name.encode() + b"\0" + digest.encode() + b"\0")
    look.digest = sha.hexdigest()
    return look


def _file_digest(path: Path) -> bytes | None:
    """Hash a regular file in bounded memory and time; None if it cannot be read."""
    try:
        data, special = _read_bounded(path, MAX_HASHED_BYTES)
    except OSError:
        return None
    if data is None:
        return (special or "").encode()
    return hashlib.sha256(str(len(data)).encode() + b"\0" + data).digest()


def content_fingerprint(root: Path, suffixes: tuple[str, ...]) -> str:
    """Return a hash of the names and bytes of the watched files under `root` (the locales)."""
    sha = hashlib.sha256()
    for path in _files(root, suffixes):
        digest = _file_digest(path)
        sha.update(str(path.relative_to(root)).encode() + b"\0")
        sha.update(digest if digest is not None else b"unreadable")
    return sha.hexdigest()


# -- the state directory ---------------------------------------------------------------


class RuleState:
    """The last activated valid rule set of one rules directory, kept on disk for every worker.

    Layout: `<state dir>/<hash of the rules directory's path>/sets/<digest>/...` holds
    the files of each activated set (content-addressed, written once, renamed into
    place); `current` names the newest activated one. A state directory that cannot
    be written costs only that memory: the set is then loaded from a private copy.
    """

    def __init__(self, state_dir: Path, rules_dir: Path, archive_size: int = ARCHIVE_VERSIONS) -> None:
        key = hashlib.sha256(str(Path(rules_dir).resolve()).encode()).hexdigest()[:16]
        self.root = Path(state_dir) / key
        self.sets = self.root / "sets"
        # ruleset.version -> the set it was built from, for the last `archive_size` activated.
        self.archive = VersionArchive(self.root, archive_size)
        self.writable = True

    def current(self) -> str | None:
        """The digest of the newest activated set, or None."""
        try:
            digest = (self.root / "current").read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            return None
        return digest if len(digest) == 64 and (self.sets / digest).is_dir() else None

    def stage(self, look: RulesLook) -> Path:
        """Return a directory holding exactly the files of `look` (creating it if needed)."""
        target = self.sets / look.digest
        if target.is_dir():
            return target
        try:
            self.sets.mkdir(parents=True, exist_ok=True)
            scratch = self.sets / f".{look.digest[:16]}.{os.getpid()}.{threading.get_ident()}"
            _write_files(scratch, look.files)
            try:
                os.rename(scratch, target)
            except OSError:  # another worker staged the same set first: theirs is identical
                shutil.rmtree(scratch, ignore_errors=True)
            return target
        except OSError as error:
            if self.writable:
                log.warning("state directory not writable (%s); a restarted worker will load the files",
                            error.strerror, extra={"event": "state_unwritable"})
            self.writable = False
            raise

    def activate(self, digest: str, version: str) -> None:
        """Record `digest` as the newest activated set (atomically) and archive it as
        `version`; prune old sets, never one the archive still names."""
        if not self.writable:
            return
        try:
            scratch = self.root / f".current.{os.getpid()}.{threading.get_ident()}"
            scratch.write_text(digest + "\n", encoding="ascii")
            os.replace(scratch, self.root / "current")
            self.archive.record(version, digest)
            archived = {entry.digest for entry in self.archive.kept()}
            sets = sorted((p for p in self.sets.iterdir() if not p.name.startswith(".")),
                          key=lambda p: p.stat().st_mtime, reverse=True)
            for old in sets[KEEP_SETS:]:
                if old.name != digest and old.name not in archived:
                    shutil.rmtree(old, ignore_errors=True)
        except OSError as error:
            log.warning("could not record the active rule set (%s)", error.strerror,
                        extra={"event": "state_unwritable"})


def _write_files(target: Path, files: dict[str, bytes]) -> None:
    target.mkdir(parents=True)
    for name, data in files.items():
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _private_copy(look: RulesLook) -> Path:
    import tempfile

    target = Path(tempfile.mkdtemp(prefix="rightsgate-rules-")) / "rules"
    _write_files(target, look.files)
    return target


def _relative(error: RuleSetInvalid, root: Path, display: str) -> RuleSetInvalid:
    """The same problems with file names relative to the rules directory (never absolute)."""
    problems = []
    for problem in error.problems:
        name = problem.file
        if os.path.isabs(name):
            try:
                name = str(Path(name).relative_to(root)) if Path(name) != root else display
            except ValueError:
                name = Path(name).name
        problems.append(RuleProblem(name, problem.line, problem.message, problem.suggestion, problem.code))
    return RuleSetInvalid(problems)


# -- the reloader --------------------------------------------------------------------------


def _give_back_memory() -> None:
    """Return the heap a dropped rule set leaves free to the OS (glibc keeps it otherwise).

    A compile's garbage and the previous Snapshot are freed in the middle of the heap,
    which glibc's malloc does not give back by itself: without this a worker's RSS stays
    at the high-water mark of every reload it has done.
    """
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to do
        pass


def utc_iso(ts: float | None) -> str | None:
    """A time.time() value as ISO 8601 UTC to the second (None stays None)."""
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
    """Keep this process's Serving in step with the files: watch them, ask for a successor."""

    def __init__(self, rules_dir: Path, locales_dir: Path, interval: float, state_dir: Path,
                 settings: ServingSettings | None = None, bundle_dir: Path | None = None,
                 activate_failing_cases: bool = False, archive_size: int = ARCHIVE_VERSIONS) -> None:
        self.rules_dir = Path(rules_dir)
        self.activate_failing_cases = activate_failing_cases
        # Compiled sets by content: the workers asked for the same new set compile it once.
        self.bundles = BundleStore(bundle_dir) if bundle_dir is not None else None
        self.locales_dir = Path(locales_dir)
        self.interval = interval
        self.state = RuleState(state_dir, self.rules_dir, archive_size)
        # Earlier activated sets, for `version=` replays and /v1/changes (api.archive).
        self.past = PastServings(self.state.archive, self.state.sets, self.bundles)
        self.changes = ChangeLog(self.past)
        self.status = ReloadStatus()
        self._reset_after_fork()
        # Start-up: an invalid or unreadable rule set raises here, so the process never serves it.
        stats = self._stats()
        look = look_rules(self.rules_dir)
        if look.problems or look.manifest_problems():
            raise RuleSetInvalid(look.problems + look.manifest_problems())
        locales_content = content_fingerprint(self.locales_dir, WATCHED_SUFFIXES["locales"])
        snapshot = self._load(look)
        localiser = Localiser(self.locales_dir)
        self._seen: tuple | None = stats
        self.serving = Serving(snapshot, localiser, locales_digest=locales_content[:16],
                               rules=look.rule_files("files"), locales_content=locales_content,
                               settings=settings)
        self.serving.replays = self.past.serving  # successors inherit it
        self.state.activate(look.digest, snapshot.version)
        self.status.last_reload_at = snapshot.loaded_at
        _REGISTRY.add(self)

    def _reset_after_fork(self) -> None:
        if hasattr(self, "past"):
            self.past.reset_locks()
            self.changes.reset_locks()
        self._lock = threading.Lock()  # one look at a time
        self.watching = False  # the parent's watcher thread does not exist here
        self._start_lock = threading.Lock()  # separate, so a request never waits for a load
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _stats(self) -> tuple:
        return (stat_fingerprint(self.rules_dir, WATCHED_SUFFIXES["rules"]),
                stat_fingerprint(self.locales_dir, WATCHED_SUFFIXES["locales"]))

    def _load(self, look: RulesLook) -> Snapshot:
        """Load the set `look` read: from its content-addressed copy, so exactly those bytes."""
        if not look.copyable:
            source = self.rules_dir  # a device, pipe or oversized file: the loader refuses it
        else:
            try:
                source = self.state.stage(look)
            except OSError:
                source = _private_copy(look)
        try:
            snapshot = load_snapshot(source, self.bundles)
            if not self.activate_failing_cases:
                # The reload gate: example cases are the legal team's statement of what the
                # rules must answer; a set that contradicts them is not activated.
                problems = (check_cases(snapshot).items
                            or failing_case_problems(snapshot, datetime.now(UTC).date()))
                if problems:
                    raise RuleSetInvalid(problems)
            return snapshot
        except RuleSetInvalid as error:
            raise _relative(error, source, f"{self.rules_dir.name}/") from None
        finally:
            if source.name == "rules" and source.parent.name.startswith("rightsgate-rules-"):
                shutil.rmtree(source.parent, ignore_errors=True)

    # -- the watcher thread ------------------------------------------------------------

    def ensure_running(self) -> None:
        """Start this process's watcher thread unless it runs or reloading is off."""
        # Every request asks: a flag (`watching`), not Thread.is_alive (~0.4 us). Once started
        # the thread runs until stop() (`_run` outlives any exception); a fork clears the flag.
        if self.watching or self.interval <= 0:
            return
        with self._start_lock:
            if not self.running:
                self._stop.clear()
                self._thread = threading.Thread(target=self._run, name="rightsgate-reload", daemon=True)
                self._thread.start()
            self.watching = True

    @property
    def running(self) -> bool:
        """Say whether this process's watcher thread is alive."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the watcher thread (tests and clean shutdown)."""
        self.watching = False
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
        """Look at the files once; load and swap if they changed. Return True if answers changed."""
        with self._lock:
            changed = self._check()
        if changed:
            _give_back_memory()  # the old set is gone now (the local in _check was its last user)
        return changed

    def _check(self) -> bool:
        self.status.last_checked_at = time.time()
        stats = self._stats()
        if stats == self._seen:
            return False
        # Two reads of the contents, SETTLE_SECONDS apart, must agree: mtimes alone miss a
        # writer that keeps a file's size and time, and a writer that paused.
        look = look_rules(self.rules_dir)
        locales_content = content_fingerprint(self.locales_dir, WATCHED_SUFFIXES["locales"])
        time.sleep(SETTLE_SECONDS)
        again = look_rules(self.rules_dir)
        if again.digest != look.digest or content_fingerprint(
                self.locales_dir, WATCHED_SUFFIXES["locales"]) != locales_content:
            return False  # still being written: look again next time
        self._seen = stats
        serving = self.serving
        rules_changed = look.digest != serving.rules.digest
        locales_changed = locales_content != serving.locales_content
        if not rules_changed and not locales_changed:
            self.status.last_error = None  # back to exactly what is served
            if serving.rules.origin != "files":  # the set taken up from the state is on disk again
                self.serving = serving.successor(rules=look.rule_files("files"))
            return False
        snapshot, localiser = None, None
        refusals: list[tuple[str, str, list[dict]]] = []
        if rules_changed:
            problems = look.problems or look.manifest_problems()
            try:
                if problems:
                    raise RuleSetInvalid(problems)
                snapshot = self._load(look)
            except RuleSetInvalid as error:
                refusals.append(("rules", error.summary(), [p.to_dict() for p in error.problems]))
                rules_changed = False
            except Exception as error:  # anything else must not stop serving either
                log.exception("rules reload failed", extra={"event": "reload_failed"})
                refusals.append(("rules", f"{type(error).__name__} while loading the rules", []))
                rules_changed = False
        if locales_changed:
            try:
                localiser = Localiser(self.locales_dir)
            except Exception as error:  # a broken .po must not stop serving
                log.exception("locales reload failed", extra={"event": "reload_failed"})
                refusals.append(("locales", f"{type(error).__name__} while loading the translations", []))
                locales_changed = False
        if self._stats() != stats:
            # The files changed while we loaded (a deploy still in progress): neither activate
            # nor report what we read; look at the newer files next time.
            self._seen = None
            return False
        for refusal in refusals:
            self._refuse(*refusal)
        if not rules_changed and not locales_changed:
            return False
        return self._swap(serving, snapshot, localiser, look if rules_changed else None,
                          locales_content if locales_changed else None)

    def _swap(self, serving: Serving, snapshot: Snapshot | None, localiser: Localiser | None,
              look: RulesLook | None, locales_content: str | None, origin: str = "files") -> bool:
        error_kind = (self.status.last_error or {}).get("kind")
        if (error_kind == "rules" and look is not None) or (error_kind == "locales" and localiser):
            self.status.last_error = None  # what was refused has been replaced by a good set
        nxt = serving.successor(snapshot, localiser,
                                locales_digest=locales_content[:16] if locales_content else None,
                                rules=look.rule_files(origin) if look is not None else None,
                                locales_content=locales_content)
        if localiser is not None:
            nxt.preload_locales()  # from Babel's process-wide cache: cheap after start-up
        # One assignment: a request sees the old Serving or the new one, never a mix.
        self.serving = nxt
        if look is not None and origin == "files":
            self.state.activate(look.digest, nxt.version)
        self.status.last_reload_at = time.time()
        same = nxt.version == serving.version and localiser is None
        log.info("rule files changed; no answer changed" if same else "reloaded", extra={
            "event": "reload", "version": nxt.version, "previous_version": serving.version,
            "rules_changed": look is not None, "locales_changed": localiser is not None,
            "origin": origin, "load_seconds": round(snapshot.load_seconds, 3) if snapshot else None,
            "from_bundle": snapshot.from_bundle if snapshot else None})
        if not same:
            # Render what the previous set was asked for, so the first requests after the
            # switch cost what they did before it (in this thread, after the switch).
            nxt.prerender(serving, self._stop, lambda: self._stats() != self._seen)
        return not same

    def adopt_state(self) -> bool:
        """Take up the newest rule set any worker activated, if it is not what this one serves.

        Return True if it did. Used by a newly forked worker before it serves; the files
        are looked at next (a valid edit since then still wins).
        """
        with self._lock:
            digest = self.state.current()
            if digest is None or digest == self.serving.rules.digest:
                return False
            try:
                look = look_rules(self.state.sets / digest)
                if look.digest != digest or look.problems:
                    raise RuleSetInvalid(look.problems or [RuleProblem(MANIFEST, None, "state copy damaged")])
                snapshot = load_snapshot(self.state.sets / digest, self.bundles)
            except Exception:
                log.exception("could not take up the last activated rule set",
                              extra={"event": "state_unusable"})
                return False
            self._seen = None  # compare the files with the set taken up at the next look
            self._swap(self.serving, snapshot, None, look, None, origin="state")
            return True

    def _refuse(self, kind: str, summary: str, problems: list[dict]) -> None:
        self.status.last_error = {
            "at": utc_iso(time.time()),
            "kind": kind,
            "summary": summary,
            "problems": problems,
        }
        log.error("reload refused; still serving %s", self.serving.version,
                  extra={"event": "reload_refused", "kind": kind, "summary": summary,
                         "problems": problems, "version": self.serving.version})

    # -- reporting ---------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """Return the reload part of /healthz."""
        status = self.status
        return {
            "interval_seconds": self.interval,
            "watcher_running": self.running,
            "last_checked_at": utc_iso(status.last_checked_at),
            "last_reload_at": utc_iso(status.last_reload_at),
            "last_error": status.last_error,
        }


def after_fork() -> None:
    """In a freshly forked worker: take up the newest activated set, catch up with the files,
    then start watching.

    With preload_app the worker was forked from a master that loaded the rules at
    start-up; since then a worker may have activated a newer set (kept in the state
    directory), and the files may have changed again (valid or not).
    """
    for reloader in list(_REGISTRY):
        try:
            reloader.adopt_state()
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
