"""The blueprints, and what every view shares: the reloader and the JSON encoding."""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, current_app

from ..reload import RulesReloader

EXTENSION = "rightsgate"


def reloader() -> RulesReloader:
    """Return this app's reloader (it holds the active rule set)."""
    return current_app.extensions[EXTENSION]


def encode(data: Any) -> bytes:
    """Encode a dumped response as compact UTF-8 JSON."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def register_blueprints(app: Flask) -> None:
    """Mount every endpoint."""
    from .decision import bp as decision_bp
    from .meta import bp as meta_bp

    app.register_blueprint(decision_bp)
    app.register_blueprint(meta_bp)
