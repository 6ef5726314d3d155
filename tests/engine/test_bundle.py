"""Compiled rule sets on disk (engine.bundle): a hit is the same Snapshot, anything else compiles."""

from __future__ import annotations

import io
import logging
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from engine import BundleStore, RuleSetInvalid, load_snapshot
from engine.bundle import content_key

from ..conftest import REPO_ROOT


@pytest.fixture(scope="module")
def rules_copy(second_compile) -> Path:
    """The copy of the shipped rules `second_compile` compiled (no test here edits it)."""
    return second_compile[0]


@pytest.fixture(scope="module")
def compiled(second_compile, snapshot):
    """A bundle directory holding the shipped rules' bundle, and the Snapshot it came from
    (tests/engine/conftest.py: one compile, shared with test_snapshot.py)."""
    _, store, first = second_compile
    assert not first.from_bundle and first.version == snapshot.version
    return store, first


@pytest.fixture()
def warnings():
    """What engine.bundle logs (the app's logging setup stops propagation to caplog)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("rightsgate.bundle")
    logger.addHandler(handler)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)


def bundle_of(store: BundleStore, rules: Path) -> Path:
    path = store.directory / f"{content_key(rules)[:32]}.bundle"
    assert path.is_file()
    return path


def test_a_stored_rule_set_loads_as_the_same_snapshot(rules_copy, compiled):
    store, first = compiled
    again = load_snapshot(rules_copy, store)
    assert again.from_bundle
    assert again.version == first.version
    assert again.decisions() == first.decisions()
    assert again.ruleset.catalog == first.ruleset.catalog
    # Frozen data stays frozen, and effects shared by many classes stay shared.
    decisions = again.decisions()
    assert type(decisions[0].age_gate).__name__ == "mappingproxy"
    distinct = len({id(d.rights) for d in first.decisions()})
    assert distinct < len(decisions) / 2
    assert len({id(d.rights) for d in decisions}) == distinct


def test_any_change_to_a_file_is_a_miss(rules_copy, compiled, tmp_path):
    store, first = compiled
    edited = tmp_path / "rules"
    shutil.copytree(rules_copy, edited)
    assert content_key(edited) == content_key(rules_copy)  # the path is not part of the key
    policy = edited / "policy.yaml"
    policy.write_text(policy.read_text() + "\n# a comment changes no answer, but the key\n")
    assert content_key(edited) != content_key(rules_copy)
    changed = load_snapshot(edited, store)
    assert not changed.from_bundle and changed.version == first.version


def test_an_invalid_set_is_never_stored(rules_copy, tmp_path):
    broken = tmp_path / "rules"
    shutil.copytree(rules_copy, broken)
    policy = broken / "policy.yaml"
    policy.write_text(policy.read_text().replace("minimum_signup_age:", "minimum_signup_agee:"))
    store = BundleStore(tmp_path / "bundles")
    for _ in range(2):
        with pytest.raises(RuleSetInvalid) as refused:
            load_snapshot(broken, store)
        assert "policy.yaml" in str(refused.value)
    assert not list(store.directory.glob("*.bundle"))



def test_lock_files_of_refused_sets_are_pruned_once_stale(rules_copy, tmp_path):
    """A refused set leaves its lock file without a bundle; the next store removes it once
    no process can still be waiting on it (a fresh one stays)."""
    broken = tmp_path / "rules"
    shutil.copytree(rules_copy, broken)
    policy = broken / "policy.yaml"
    policy.write_text(policy.read_text().replace("minimum_signup_age:", "minimum_signup_agee:"))
    store = BundleStore(tmp_path / "bundles")
    with pytest.raises(RuleSetInvalid):
        load_snapshot(broken, store)
    (stale,) = store.directory.glob(".*.lock")
    fresh = store.directory / ".0123456789abcdef0123456789abcdef.lock"
    fresh.touch()
    old = stale.stat().st_mtime - 3600
    os.utime(stale, (old, old))
    kept = store.directory / "feedfacefeedfacefeedfacefeedface.bundle"
    kept.touch()
    store._prune(keep=kept)
    assert not stale.exists()
    assert fresh.exists() and kept.exists()

def test_a_damaged_bundle_is_compiled_again_and_replaced(rules_copy, compiled, warnings):
    store, first = compiled
    path = bundle_of(store, rules_copy)
    good = path.read_bytes()
    path.write_bytes(good[: len(good) // 2])
    again = load_snapshot(rules_copy, store)
    assert not again.from_bundle and again.version == first.version
    assert "bundle damaged" in warnings.getvalue()
    assert load_snapshot(rules_copy, store).from_bundle  # stored again


def test_a_bundle_others_can_write_is_not_loaded(rules_copy, compiled, warnings):
    store, _ = compiled
    path = bundle_of(store, rules_copy)
    path.chmod(0o666)
    try:
        assert not load_snapshot(rules_copy, store).from_bundle
        assert "writable by others" in warnings.getvalue()
    finally:
        path.chmod(0o644)


def test_an_unusable_bundle_directory_only_costs_the_compile(rules_copy, snapshot, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    loaded = load_snapshot(rules_copy, BundleStore(blocker / "bundles"))
    assert loaded.version == snapshot.version and not loaded.from_bundle


@pytest.mark.slow
def test_processes_asking_for_the_same_new_set_compile_it_once(rules_copy, tmp_path):
    """Workers that see the same new files at once: one compiles, the others wait and load."""
    bundles = tmp_path / "bundles"
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(REPO_ROOT)!r})
        from engine import BundleStore, load_snapshot
        snapshot = load_snapshot({str(rules_copy)!r}, BundleStore({str(bundles)!r}))
        print(snapshot.version, snapshot.from_bundle)
    """)
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    workers = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env)
               for _ in range(3)]
    outputs = [worker.communicate(timeout=300)[0].split() for worker in workers]
    assert all(worker.returncode == 0 for worker in workers)
    assert len({version for version, _ in outputs}) == 1
    assert sorted(from_bundle for _, from_bundle in outputs) == ["False", "True", "True"]


@pytest.mark.parametrize("special", ["fifo", "dev_zero"])
def test_a_pipe_or_device_in_the_rules_is_refused_not_waited_for(rules_copy, tmp_path, special):
    """Hashing the files for the key must never open a FIFO for reading (it would wait for
    a writer forever) nor read /dev/zero (it never ends): the loader refuses them."""
    import threading

    rules = tmp_path / "rules"
    shutil.copytree(rules_copy, rules)
    target = rules / "frameworks" / "special.yaml"
    if special == "fifo":
        os.mkfifo(target)
    else:
        target.symlink_to("/dev/zero")
    outcome: dict = {}

    def load() -> None:
        try:
            load_snapshot(rules, BundleStore(tmp_path / "bundles"))
        except RuleSetInvalid as error:
            outcome["error"] = error

    thread = threading.Thread(target=load, daemon=True)
    thread.start()
    thread.join(120)
    assert not thread.is_alive(), "load_snapshot hung on a special file"
    assert "special.yaml" in str(outcome["error"])
