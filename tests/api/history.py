"""Rule edits the receipts and changes tests make, and the app they make them in.

Three rule sets are used, each compiled once per machine and engine (var/bundles keeps
them): the shipped rules; Portugal's digital consent age raised from 13 to 16 (the
example cases pin 13, so these apps open the reload gate); the shipped rules with the
access right renamed (the edit tests/api/test_reload.py makes too).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from api import create_app

from ..conftest import RULES_DIR

PORTUGAL_RULE = "id: gdpr.art8.pt"


def touch_later(path: Path) -> None:
    """Make a rewrite visible in the mtime even on coarse clocks."""
    info = path.stat()
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns + 1_000_000_000))


def set_portugal_consent_age(rules: Path, age: int) -> None:
    """Rewrite rule gdpr.art8.pt's digital_consent_age (and only that rule's)."""
    gdpr = rules / "frameworks" / "gdpr.yaml"
    text = gdpr.read_text(encoding="utf-8")
    start = text.index(PORTUGAL_RULE)
    end = text.index("\n  - id:", start)
    rule = text[start:end]
    assert rule.count("digital_consent_age: ") == 1
    head, _, tail = rule.partition("digital_consent_age: ")
    rule = f"{head}digital_consent_age: {age}{tail[tail.index(chr(10)):]}"
    gdpr.write_text(text[:start] + rule + text[end:], encoding="utf-8")
    touch_later(gdpr)


def shipped_rules(rules: Path) -> None:
    """Put the shipped rules back (the whole directory)."""
    shutil.rmtree(rules)
    shutil.copytree(RULES_DIR, rules)
    for path in rules.rglob("*.yaml"):
        touch_later(path)


def rename_access_right(rules: Path) -> None:
    catalog = rules / "catalog.yaml"
    text = catalog.read_text(encoding="utf-8")
    assert "title: Right of access\n" in text
    catalog.write_text(text.replace("title: Right of access\n", "title: Right of access (edited)\n"),
                       encoding="utf-8")
    touch_later(catalog)


def rules_app(rules: Path, state: Path, **settings: Any) -> Flask:
    """An app on `rules` keeping its state in `state`; reload by hand (check_now)."""
    return create_app({"TESTING": True, "RIGHTSGATE_RULES_DIR": rules, "RIGHTSGATE_STATE_DIR": state,
                       "RIGHTSGATE_RELOAD_INTERVAL": 0, "RIGHTSGATE_ACTIVATE_FAILING_CASES": "on",
                       **settings})


def reload(app: Flask) -> str:
    """Take up the edited files; return the new version (it must have changed)."""
    assert app.extensions["rightsgate"].check_now() is True
    return version(app.test_client())


def version(client: FlaskClient) -> str:
    return client.get("/healthz").get_json()["ruleset"]["version"]
