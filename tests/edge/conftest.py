"""Fixtures of the edge tests: apps with edge settings, built once per module."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask

from api import create_app

from ..conftest import RULES_DIR


@pytest.fixture(scope="module")
def module_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Flask]]:
    """Build apps on the shipped rules with extra settings, kept for the whole module."""
    made: list[Flask] = []

    def factory(**settings: Any) -> Flask:
        application = create_app({"TESTING": True, "RIGHTSGATE_RULES_DIR": RULES_DIR,
                                  "RIGHTSGATE_RELOAD_INTERVAL": 0,
                                  "RIGHTSGATE_STATE_DIR": tmp_path_factory.mktemp("state"), **settings})
        made.append(application)
        return application

    yield factory
    for application in made:
        application.extensions["rightsgate"].stop()
