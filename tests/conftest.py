"""Shared fixtures, Flask-tutorial style: `app` -> `client` -> `runner`.

`app` serves the shipped rules and is built once per session (from the stored compile
when there is one). Tests that change rules get their own app on a scratch
copy through `make_app` and `scratch_rules`.

Compiling the shipped rules takes seconds (~3 s on 2 cores): `shipped_snapshot` is that
compile, done once per session, for every test that needs the shipped rules' Snapshot
(or just their version) without proving something about compiling itself.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from api import create_app
from api.config import DEFAULT_BUNDLE_DIR
from engine import BundleStore, Snapshot, load_snapshot

REPO_ROOT = Path(__file__).resolve().parent.parent
RULES_DIR = REPO_ROOT / "rules"


@pytest.fixture(scope="session")
def shipped_snapshot() -> Snapshot:
    """The shipped rules, compiled once for the session (a real compile, no bundle)."""
    return load_snapshot(RULES_DIR)


@pytest.fixture(scope="session")
def server_bundles() -> BundleStore:
    """The bundle store the test servers and apps use (RIGHTSGATE_BUNDLE_DIR's default,
    var/bundles): a rule set a test compiles through it is a bundle hit for them later."""
    return BundleStore(DEFAULT_BUNDLE_DIR)


@pytest.fixture(scope="session")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """Return the app on the shipped rules, with reloading off (the files never change)."""
    application = create_app({"TESTING": True, "RIGHTSGATE_RULES_DIR": RULES_DIR,
                              "RIGHTSGATE_RELOAD_INTERVAL": 0,
                              "RIGHTSGATE_STATE_DIR": tmp_path_factory.mktemp("state")})
    yield application
    application.extensions["rightsgate"].stop()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """Return a test client of the session app."""
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    """Return a CLI runner of the session app."""
    return app.test_cli_runner()


@pytest.fixture
def scratch_rules(tmp_path: Path) -> Path:
    """Copy the shipped rules to a directory the test may edit."""
    target = tmp_path / "rules"
    shutil.copytree(RULES_DIR, target)
    return target


@pytest.fixture
def make_app(tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    """Build apps with their own settings; stop their watcher threads afterwards.

    Each test's apps keep their last activated rule set in the test's own state directory.
    """
    made: list[Flask] = []

    def factory(**settings: Any) -> Flask:
        application = create_app({"TESTING": True, "RIGHTSGATE_STATE_DIR": tmp_path / "state", **settings})
        made.append(application)
        return application

    yield factory
    for application in made:
        application.extensions["rightsgate"].stop()
