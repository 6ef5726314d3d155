"""Reloading rules and translations without a restart, in one process."""

from __future__ import annotations

import os
import shutil
import time
import warnings
from pathlib import Path

import pytest

from api import create_app
from engine import RuleSetInvalid

from ..conftest import REPO_ROOT


def touch_later(path: Path) -> None:
    """Make sure a rewrite is visible in the mtime even on coarse clocks."""
    info = path.stat()
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns + 1_000_000_000))


def rename_access_right(rules: Path, title: str = "Right of access (edited)") -> None:
    catalog = rules / "catalog.yaml"
    text = catalog.read_text(encoding="utf-8")
    assert "title: Right of access\n" in text
    catalog.write_text(text.replace("title: Right of access\n", f"title: {title}\n"), encoding="utf-8")
    touch_later(catalog)


def break_policy(rules: Path) -> None:
    policy = rules / "policy.yaml"
    policy.write_text(policy.read_text(encoding="utf-8").replace(
        "minimum_signup_age:", "minimum_signup_agee:"), encoding="utf-8")
    touch_later(policy)


def version(client) -> str:
    return client.get("/healthz").get_json()["ruleset"]["version"]


def access_title(client, **params) -> str:
    body = client.get("/v1/decision", query_string={"jurisdiction": "DE", "age": 30, **params}).get_json()
    return {r["id"]: r for r in body["rights"]}["access"]["title"]


def test_changed_rules_are_swapped_in(make_app, scratch_rules):
    app = make_app(RIGHTSGATE_RULES_DIR=scratch_rules, RIGHTSGATE_RELOAD_INTERVAL=0)
    client = app.test_client()
    reloader = app.extensions["rightsgate"]
    old_version = version(client)
    old = client.get("/v1/decision?jurisdiction=DE&age=30")
    old_cache = reloader.serving.bodies
    assert access_title(client) == "Right of access"

    assert reloader.check_now() is False  # nothing changed yet
    rename_access_right(scratch_rules)
    assert reloader.check_now() is True

    new_version = version(client)
    assert new_version != old_version
    assert access_title(client) == "Right of access (edited)"
    new = client.get("/v1/decision?jurisdiction=DE&age=30")
    assert new.headers["ETag"] != old.headers["ETag"]
    assert new.headers["ETag"].strip('"').startswith(new_version)
    assert new.get_json()["ruleset"]["version"] == new_version
    assert reloader.serving.bodies is not old_cache  # the old cache died with its snapshot
    stale = client.get("/v1/decision?jurisdiction=DE&age=30", headers={"If-None-Match": old.headers["ETag"]})
    assert stale.status_code == 200


def test_invalid_rules_are_refused_and_the_old_set_keeps_serving(make_app, scratch_rules, capsys):
    app = make_app(RIGHTSGATE_RULES_DIR=scratch_rules, RIGHTSGATE_RELOAD_INTERVAL=0)
    client = app.test_client()
    reloader = app.extensions["rightsgate"]
    good = version(client)

    break_policy(scratch_rules)
    assert reloader.check_now() is False
    health = client.get("/healthz").get_json()
    assert health["status"] == "degraded"
    assert health["ruleset"]["version"] == good
    error = health["reload"]["last_error"]
    assert error["kind"] == "rules"
    assert "minimum_signup_agee" in error["summary"]
    located = [p for p in error["problems"] if p["file"] == "policy.yaml"]
    assert located and all(isinstance(p["line"], int) for p in located)
    assert client.get("/v1/decision?jurisdiction=DE&age=30").get_json()["ruleset"]["version"] == good
    logged = capsys.readouterr().err
    assert "reload_refused" in logged and "policy.yaml" in logged

    # The same broken files are not reloaded (nor logged) again and again.
    assert reloader.check_now() is False
    assert "reload_refused" not in capsys.readouterr().err

    # Back to the served files: healthy again, without a reload.
    shutil.copy(REPO_ROOT / "rules" / "policy.yaml", scratch_rules / "policy.yaml")
    touch_later(scratch_rules / "policy.yaml")
    assert reloader.check_now() is False
    assert client.get("/healthz").get_json()["status"] == "ok"

    # A later good edit is taken and clears the error.
    break_policy(scratch_rules)
    reloader.check_now()
    rename_access_right(scratch_rules)
    shutil.copy(REPO_ROOT / "rules" / "policy.yaml", scratch_rules / "policy.yaml")
    touch_later(scratch_rules / "policy.yaml")
    assert reloader.check_now() is True
    health = client.get("/healthz").get_json()
    assert health["status"] == "ok"
    assert health["reload"]["last_error"] is None
    assert health["ruleset"]["version"] != good


def test_an_edit_that_changes_no_decision_keeps_the_snapshot_and_cache(make_app, scratch_rules):
    app = make_app(RIGHTSGATE_RULES_DIR=scratch_rules, RIGHTSGATE_RELOAD_INTERVAL=0)
    reloader = app.extensions["rightsgate"]
    before = reloader.serving
    policy = scratch_rules / "policy.yaml"
    policy.write_text(policy.read_text(encoding="utf-8") + "\n# a comment from legal\n", encoding="utf-8")
    assert reloader.check_now() is False
    assert reloader.serving.snapshot is before.snapshot
    assert reloader.serving.bodies is before.bodies


def test_the_watcher_thread_reloads_by_itself(make_app, scratch_rules):
    app = make_app(RIGHTSGATE_RULES_DIR=scratch_rules, RIGHTSGATE_RELOAD_INTERVAL=0.1)
    client = app.test_client()
    reloader = app.extensions["rightsgate"]
    assert not reloader.running  # never started at create_app (a preload master must not)
    old = version(client)  # the first request starts it
    assert reloader.running
    rename_access_right(scratch_rules)
    deadline = time.monotonic() + 10
    while version(client) == old:
        assert time.monotonic() < deadline, "the watcher did not reload within 10 s"
        time.sleep(0.05)
    health = client.get("/healthz").get_json()
    assert health["reload"]["watcher_running"] is True
    assert health["reload"]["last_checked_at"]


def test_new_translations_change_words_and_etags(make_app, scratch_rules, tmp_path):
    locales = tmp_path / "locales"
    shutil.copytree(REPO_ROOT / "locales", locales)
    app = make_app(RIGHTSGATE_RULES_DIR=scratch_rules, RIGHTSGATE_LOCALES_DIR=locales,
                   RIGHTSGATE_RELOAD_INTERVAL=0)
    client = app.test_client()
    reloader = app.extensions["rightsgate"]
    before = client.get("/v1/decision?jurisdiction=DE&age=30&locale=de")
    assert access_title(client, locale="de") == "Auskunftsrecht"
    po = locales / "de" / "LC_MESSAGES" / "messages.po"
    po.write_text(po.read_text(encoding="utf-8").replace('msgstr "Auskunftsrecht"',
                                                         'msgstr "Recht auf Auskunft"'), encoding="utf-8")
    touch_later(po)
    assert reloader.check_now() is True
    after = client.get("/v1/decision?jurisdiction=DE&age=30&locale=de")
    assert access_title(client, locale="de") == "Recht auf Auskunft"
    assert before.get_json()["ruleset"]["version"] == after.get_json()["ruleset"]["version"]
    assert before.headers["ETag"] != after.headers["ETag"]


def test_invalid_rules_stop_the_app_at_start(scratch_rules):
    break_policy(scratch_rules)
    with pytest.raises(RuleSetInvalid) as caught:
        create_app({"RIGHTSGATE_RULES_DIR": scratch_rules, "RIGHTSGATE_RELOAD_INTERVAL": 0})
    assert any(p.file == "policy.yaml" and p.line for p in caught.value.problems)
    assert "policy.yaml:" in caught.value.summary()


def test_a_forked_child_gets_no_thread_and_a_free_lock(make_app, scratch_rules):
    app = make_app(RIGHTSGATE_RULES_DIR=scratch_rules, RIGHTSGATE_RELOAD_INTERVAL=5)
    reloader = app.extensions["rightsgate"]
    reloader.ensure_running()
    assert reloader.running
    with reloader._lock, warnings.catch_warnings():
        # Python 3.12+ warns about fork() in a threaded process; that is what we test.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
        if pid == 0:  # the child: parent held the lock and ran a thread when it forked
            ok = not reloader.running and reloader._lock.acquire(timeout=2)
            if ok:
                reloader._lock.release()
                ok = reloader.check_now() is False
                reloader.ensure_running()
                ok = ok and reloader.running
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
