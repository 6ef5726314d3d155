"""Engine fixtures: the shipped rules, loaded once, and scratch copies to break."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine import Snapshot, load_snapshot

RULES_DIR = Path(__file__).resolve().parents[2] / "rules"


@pytest.fixture(scope="session")
def snapshot() -> Snapshot:
    """Load the shipped rules once for the whole session."""
    return load_snapshot(RULES_DIR)


@pytest.fixture
def rules_copy(tmp_path: Path) -> Path:
    """Copy the shipped rules to a scratch directory a test may edit."""
    target = tmp_path / "rules"
    shutil.copytree(RULES_DIR, target)
    return target
