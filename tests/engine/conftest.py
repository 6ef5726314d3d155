"""Engine fixtures: the shipped rules, loaded once, and scratch copies to break."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine import BundleStore, Snapshot, load_snapshot

RULES_DIR = Path(__file__).resolve().parents[2] / "rules"


@pytest.fixture(scope="session")
def snapshot(shipped_snapshot: Snapshot) -> Snapshot:
    """The shipped rules, compiled once for the whole session (tests/conftest.py)."""
    return shipped_snapshot


@pytest.fixture(scope="session")
def _compiled_twice(
        tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, BundleStore, Snapshot, BundleStore]:
    """The compile behind `second_compile` and `shipped_bundles`."""
    root = tmp_path_factory.mktemp("second-compile")
    rules = root / "rules"
    shutil.copytree(RULES_DIR, rules)
    store = BundleStore(root / "bundles")
    compiled = load_snapshot(rules, store)
    # A copy of the fresh store, made before any test can touch the original.
    shutil.copytree(store.directory, root / "shared-bundles")
    return rules, store, compiled, BundleStore(root / "shared-bundles")


@pytest.fixture(scope="session")
def second_compile(_compiled_twice: tuple) -> tuple[Path, BundleStore, Snapshot]:
    """The shipped rules compiled a second time, from a copy, into a bundle store of their own.

    Shared by the tests that need a second, independent compile (the same rules give the
    same version; a compile stores its bundle) so the session pays for it once. Returns
    the copy, the store (tests/engine/test_bundle.py damages and repairs its bundle) and
    the compiled Snapshot.
    """
    rules, store, compiled, _ = _compiled_twice
    return rules, store, compiled


@pytest.fixture(scope="session")
def shipped_bundles(_compiled_twice: tuple) -> BundleStore:
    """A bundle store holding the shipped rules' bundle (a pristine copy of `second_compile`'s):
    loading the shipped rules from it is a bundle hit; any other set compiles (and is stored)."""
    return _compiled_twice[3]


@pytest.fixture
def rules_copy(tmp_path: Path) -> Path:
    """Copy the shipped rules to a scratch directory a test may edit."""
    target = tmp_path / "rules"
    shutil.copytree(RULES_DIR, target)
    return target
