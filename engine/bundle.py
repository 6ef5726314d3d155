"""Compiled rule sets kept on disk, keyed by their content: compile once, load many times.

Compiling the shipped rules (load, validate, evaluate every input class through
durable_rules) takes seconds; loading the result takes a fraction of one. A bundle is
the pickled Snapshot of one rule set, stored under a key that hashes every byte the
Snapshot depends on: each file of the rules directory (names and contents), the
engine's own source, the durable_rules version and the Python version. A key that
matches is therefore the same Snapshot a compile would give; anything else is a miss
and a compile. Only valid rule sets are stored (a refused set is compiled again, so
its problems name the files it was read from).

Several processes (the server's workers) asked for the same new rule set compile it
once: the first takes a lock on the key, the others wait for it and load its bundle.

Bundles are pickles: whoever can write the bundle directory can run code in the
service. It is the service's own directory (RIGHTSGATE_BUNDLE_DIR, inside the
checkout by default); never point it at a place others can write.
"""

from __future__ import annotations

import contextlib
import copyreg
import fcntl
import gc
import hashlib
import logging
import os
import pickle
import platform
import stat
import time
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from .snapshot import Snapshot

log = logging.getLogger("rightsgate.bundle")

SUFFIX = ".bundle"
# A process compiling the same set is waited for this long at most (a compile under
# heavy load takes ~20 s), then this one compiles too.
LOCK_WAIT_SECONDS = 60.0
KEEP_BUNDLES = 8  # the newest bundles kept; a rule set in use is touched on every load
ENGINE_DIR = Path(__file__).resolve().parent


def _mapping_proxy(items: dict) -> MappingProxyType:
    return MappingProxyType(items)


# Frozen rule data is made of mapping proxies, which pickle cannot store by itself. The
# proxy object is what pickle remembers, so effects shared by many classes stay shared.
copyreg.pickle(MappingProxyType, lambda proxy: (_mapping_proxy, (dict(proxy),)))


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many long-lived objects.

    Compiling and unpickling create hundreds of thousands of containers that all
    survive; each allocation threshold crossed would otherwise walk them all again.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _engine_fingerprint() -> bytes:
    sha = hashlib.sha256()
    for path in sorted(ENGINE_DIR.glob("*.py")):
        sha.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    try:
        durable = metadata.version("durable_rules")
    except metadata.PackageNotFoundError:
        durable = "?"
    sha.update(f"{durable}\0{platform.python_version()}\0{pickle.HIGHEST_PROTOCOL}".encode())
    return sha.digest()


_ENGINE = _engine_fingerprint()


def content_key(rules_dir: Path) -> str:
    """Hash of every file under `rules_dir` (names and bytes) and of the engine itself."""
    sha = hashlib.sha256(_ENGINE)
    root = Path(rules_dir)
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            sha.update(str(path.relative_to(root)).encode() + b"\0")
            sha.update(_file_digest(path))
    return sha.hexdigest()


class Uncacheable(OSError):
    """A file only the loader may judge (a pipe, a device): compile, and let it say why."""


def _file_digest(path: Path) -> bytes:
    # Without blocking and only a regular file: a rule file may be a FIFO (open would wait
    # for a writer forever) or a link to /dev/zero (reading would never end).
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise Uncacheable(f"not a regular file: {path.name}")
        digest = hashlib.sha256()
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
        return digest.digest()


def _lock(handle: BinaryIO, deadline: float) -> None:
    """Take the key's lock, or give up waiting at `deadline` (then compile anyway).

    POSIX record locks (lockf), not flock: a flock is shared with every child forked
    while it is held (the master compiles in a thread while it forks workers), and a
    child that never closes the descriptor would hold it forever. lockf locks belong
    to the process and are never inherited.
    """
    while True:
        try:
            fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except OSError:
            if time.perf_counter() >= deadline:
                _warn("gave up waiting for another process compiling the same rule set")
                return
            time.sleep(0.05)


def _private(info: os.stat_result) -> bool:
    """Owned by this user (or root) and writable by nobody else: safe to unpickle from."""
    return info.st_uid in (os.getuid(), 0) and not info.st_mode & 0o022


def _warn(message: str) -> None:
    log.warning(message, extra={"event": "bundle_unusable"})


class BundleStore:
    """A directory of compiled rule sets, one file per content key."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def load_or_compile(self, rules_dir: Path, compile_: Callable[[], Snapshot]) -> Snapshot:
        """The Snapshot of `rules_dir`: from its bundle, or compiled (and then stored)."""
        started = time.perf_counter()
        try:
            key = content_key(rules_dir)
        except OSError:  # an unreadable or special file: the loader reports it, file by file
            return compile_()
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            lock = open(self.directory / f".{key[:32]}.lock", "a+b")
        except OSError as error:
            _warn(f"bundle directory unusable ({error.strerror or error}); compiling")
            return compile_()
        with lock:
            # Workers asked for the same set wait here for the one compiling it.
            _lock(lock, started + LOCK_WAIT_SECONDS)
            snapshot = self._read(key)
            if snapshot is not None:
                object.__setattr__(snapshot, "loaded_at", time.time())
                object.__setattr__(snapshot, "load_seconds", time.perf_counter() - started)
                object.__setattr__(snapshot, "from_bundle", True)
                return snapshot
            snapshot = compile_()
            if content_key(rules_dir) == key:  # the files did not change while compiling
                self._write(key, snapshot)
            return snapshot

    def _path(self, key: str) -> Path:
        return self.directory / f"{key[:32]}{SUFFIX}"

    def _read(self, key: str) -> Snapshot | None:
        path = self._path(key)
        try:
            with path.open("rb") as handle:
                if not _private(os.fstat(handle.fileno())) or not _private(self.directory.stat()):
                    _warn("bundle writable by others; compiling instead of loading it")
                    return None
                data = handle.read()
        except FileNotFoundError:
            return None
        except OSError as error:
            _warn(f"bundle unreadable ({error.strerror}); compiling")
            return None
        try:
            with gc_paused():
                # Safe as far as the directory is: ours, written by us, checked just above.
                stored_key, snapshot = pickle.loads(data)  # noqa: S301
            if stored_key != key:
                raise ValueError("key mismatch")
        except Exception as error:  # damaged or from another build: compile and replace it
            _warn(f"bundle damaged ({type(error).__name__}); compiling")
            path.unlink(missing_ok=True)
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # in use: pruned last
        return snapshot

    def _write(self, key: str, snapshot: Snapshot) -> None:
        path = self._path(key)
        scratch = path.with_name(f".{path.name}.{os.getpid()}")
        try:
            scratch.write_bytes(pickle.dumps((key, snapshot), protocol=pickle.HIGHEST_PROTOCOL))
            os.replace(scratch, path)  # readers see the whole bundle or none
            self._prune(keep=path)
        except OSError as error:
            scratch.unlink(missing_ok=True)
            _warn(f"could not store the bundle ({error.strerror})")

    def _prune(self, keep: Path) -> None:
        def age(path: Path) -> float:
            try:
                return path.stat().st_mtime
            except OSError:  # pruned by another process meanwhile
                return 0.0

        bundles = sorted(self.directory.glob(f"*{SUFFIX}"), key=age, reverse=True)
        for old in bundles[KEEP_BUNDLES:]:
            if old != keep:
                old.unlink(missing_ok=True)
                (self.directory / f".{old.stem}.lock").unlink(missing_ok=True)
        # A set that never compiled (refused) leaves its lock file without a bundle. Those
        # older than any wait for them are removed here (a newer one may still be held).
        stale = time.time() - 2 * LOCK_WAIT_SECONDS
        for lock in self.directory.glob(".*.lock"):
            bundle = self.directory / f"{lock.name[1:-len('.lock')]}{SUFFIX}"
            if not bundle.exists() and 0 < age(lock) < stale:
                lock.unlink(missing_ok=True)
