"""Reloading rules and translations without a restart, in one process."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
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
    deadline = time.monotonic() + 60  # a hang guard: loading the shipped rules takes seconds
    while version(client) == old:
        assert time.monotonic() < deadline, "the watcher did not reload within 60 s"
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


# -- issue 15: contents, manifest, unreadable files, the last activated set -------------------


def test_an_edit_that_keeps_size_and_mtime_is_still_seen(make_app, scratch_rules):
    """The watcher compares contents, not only names, sizes and mtimes."""
    app = make_app(RIGHTSGATE_RULES_DIR=scratch_rules, RIGHTSGATE_RELOAD_INTERVAL=0)
    client = app.test_client()
    reloader = app.extensions["rightsgate"]
    catalog = scratch_rules / "catalog.yaml"
    before = catalog.stat()
    text = catalog.read_text(encoding="utf-8")
    edited = text.replace("title: Right of access\n", "title: Right of accesS\n")
    assert len(edited.encode()) == len(text.encode()) and edited != text
    catalog.write_text(edited, encoding="utf-8")
    os.utime(catalog, ns=(before.st_atime_ns, before.st_mtime_ns))  # as a copy tool would
    assert catalog.stat().st_mtime_ns == before.st_mtime_ns and catalog.stat().st_size == before.st_size
    assert reloader.check_now() is True
    assert access_title(client) == "Right of accesS"


def write_manifest(rules: Path) -> None:
    """What deploy tooling writes last: `sha256sum` of every rule file."""
    lines = []
    for path in sorted(rules.rglob("*.yaml")):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        lines.append(f"{digest}  ./{path.relative_to(rules)}\n")
    (rules / "MANIFEST.sha256").write_text("".join(lines), encoding="utf-8")


def test_a_manifest_holds_back_a_half_written_set(make_app, scratch_rules):
    """A file cut at a rule boundary is a valid, smaller set: the manifest says it is incomplete."""
    gdpr = scratch_rules / "frameworks" / "gdpr.yaml"
    data = gdpr.read_bytes()
    cut = data.index(b"\n  - id: ", len(data) // 2) + 1  # the start of a rule, half way
    write_manifest(scratch_rules)
    app = make_app(RIGHTSGATE_RULES_DIR=scratch_rules, RIGHTSGATE_RELOAD_INTERVAL=0)
    client = app.test_client()
    reloader = app.extensions["rightsgate"]
    good = version(client)

    # The deploy starts: the new manifest lands... no: the old one stays while a file is rewritten.
    gdpr.write_bytes(data[:cut])
    touch_later(gdpr)
    assert reloader.check_now() is False
    health = client.get("/healthz").get_json()
    assert health["status"] == "degraded"
    assert health["ruleset"]["version"] == good
    problems = health["reload"]["last_error"]["problems"]
    assert [p["file"] for p in problems] == ["frameworks/gdpr.yaml"]
    assert "MANIFEST.sha256" in problems[0]["message"]

    # The rest arrives: the files match the manifest again, nothing changed, healthy.
    gdpr.write_bytes(data)
    touch_later(gdpr)
    assert reloader.check_now() is False
    assert client.get("/healthz").get_json()["status"] == "ok"

    # A real edit, with its manifest written last, is activated.
    rename_access_right(scratch_rules)
    assert reloader.check_now() is False  # the manifest does not list the new content yet
    write_manifest(scratch_rules)
    assert reloader.check_now() is True
    assert access_title(client) == "Right of access (edited)"
    names = {f["name"] for f in client.get("/healthz").get_json()["ruleset"]["files"]}
    assert "MANIFEST.sha256" in names


def test_an_unreadable_rule_file_is_refused_and_named(make_app, scratch_rules):
    app = make_app(RIGHTSGATE_RULES_DIR=scratch_rules, RIGHTSGATE_RELOAD_INTERVAL=0)
    client = app.test_client()
    reloader = app.extensions["rightsgate"]
    good = version(client)
    # A file that cannot be opened (root can read any mode, so: a symlink to nothing).
    (scratch_rules / "frameworks" / "extra.yaml").symlink_to(scratch_rules / "nowhere.yaml")
    assert reloader.check_now() is False
    health = client.get("/healthz").get_json()
    assert health["status"] == "degraded"
    assert health["ruleset"]["version"] == good
    (problem,) = health["reload"]["last_error"]["problems"]
    assert problem["file"] == "frameworks/extra.yaml"
    assert problem["message"].startswith("cannot read file")
    assert str(scratch_rules) not in json.dumps(health)


def _as_nobody(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command]


def test_an_unreadable_rule_file_stops_start_up_with_a_report(tmp_path):
    """chmod 000 on a rule file: a clean report and exit code 1, never a traceback."""
    world = Path(tempfile.mkdtemp(prefix="rightsgate-unreadable-"))
    try:
        world.chmod(0o755)
        rules = world / "rules"
        shutil.copytree(REPO_ROOT / "rules", rules)
        for path in [rules, *rules.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        (rules / "policy.yaml").chmod(0o000)
        env = {k: v for k, v in os.environ.items() if not k.startswith("RIGHTSGATE_")}
        env.update(RIGHTSGATE_RULES_DIR=str(rules), RIGHTSGATE_STATE_DIR=str(world / "state"),
                   RIGHTSGATE_RELOAD_INTERVAL="0")
        done = subprocess.run(_as_nobody([sys.executable, "-c", "import wsgi"]), cwd=REPO_ROOT, env=env,
                              capture_output=True, text=True, timeout=120)
    finally:
        shutil.rmtree(world, ignore_errors=True)
    assert done.returncode == 1, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert "refusing to start" in done.stderr
    assert "policy.yaml: cannot read file: Permission denied" in done.stderr


def test_a_new_worker_takes_up_the_last_activated_set(make_app, scratch_rules, tmp_path):
    """In process: what after_fork does in a new gunicorn worker (tests/api/test_server.py: for real)."""
    state = tmp_path / "shared-state"
    first = make_app(RIGHTSGATE_RULES_DIR=scratch_rules, RIGHTSGATE_RELOAD_INTERVAL=0,
                     RIGHTSGATE_STATE_DIR=state)
    second = make_app(RIGHTSGATE_RULES_DIR=scratch_rules, RIGHTSGATE_RELOAD_INTERVAL=0,
                      RIGHTSGATE_STATE_DIR=state)  # loaded before the edit, like a preloading master
    start = version(second.test_client())
    rename_access_right(scratch_rules)
    assert first.extensions["rightsgate"].check_now() is True
    edited = version(first.test_client())
    break_policy(scratch_rules)  # the files are invalid from now on
    reloader = second.extensions["rightsgate"]
    assert reloader.adopt_state() is True
    assert reloader.check_now() is False  # the invalid files are refused; the adopted set stays
    health = second.test_client().get("/healthz").get_json()
    assert (start, health["ruleset"]["version"], health["ruleset"]["origin"]) == (start, edited, "state")
    assert health["status"] == "degraded"
    assert access_title(second.test_client()) == "Right of access (edited)"


def raise_minimum_signup_age(rules: Path) -> None:
    """A policy edit that contradicts the example cases (they expect 13-year-olds let in)."""
    policy = rules / "policy.yaml"
    text = policy.read_text(encoding="utf-8")
    assert "minimum_signup_age: 13\n" in text
    policy.write_text(text.replace("minimum_signup_age: 13\n", "minimum_signup_age: 14\n"), encoding="utf-8")
    touch_later(policy)


def test_a_set_whose_example_cases_fail_is_not_activated(make_app, scratch_rules):
    """Issue 13, the reload gate: /healthz names each failing case; the old set keeps serving."""
    app = make_app(RIGHTSGATE_RULES_DIR=scratch_rules, RIGHTSGATE_RELOAD_INTERVAL=0)
    client = app.test_client()
    good = version(client)
    raise_minimum_signup_age(scratch_rules)
    assert app.extensions["rightsgate"].check_now() is False
    health = client.get("/healthz").get_json()
    assert health["status"] == "degraded" and health["ruleset"]["version"] == good
    failing = [p for p in health["reload"]["last_error"]["problems"] if p["code"] == "case_failed"]
    assert len(failing) > 10
    assert all(p["file"].startswith("cases/") and isinstance(p["line"], int) for p in failing)
    assert any("expected 'allowed'" in p["message"] or "minimum_signup_age" in p["message"] for p in failing)
    assert "example case" in failing[0]["message"] and "rightsgate test" in failing[0]["suggestion"]


def test_the_gate_can_be_opened_for_an_emergency_edit(make_app, scratch_rules):
    app = make_app(RIGHTSGATE_RULES_DIR=scratch_rules, RIGHTSGATE_RELOAD_INTERVAL=0,
                   RIGHTSGATE_ACTIVATE_FAILING_CASES="on")
    client = app.test_client()
    good = version(client)
    raise_minimum_signup_age(scratch_rules)
    assert app.extensions["rightsgate"].check_now() is True
    assert client.get("/healthz").get_json()["status"] == "ok" and version(client) != good


def test_failing_cases_stop_the_app_at_start(scratch_rules, tmp_path):
    raise_minimum_signup_age(scratch_rules)
    with pytest.raises(RuleSetInvalid) as refused:
        create_app({"RIGHTSGATE_RULES_DIR": scratch_rules, "RIGHTSGATE_STATE_DIR": tmp_path / "state",
                    "RIGHTSGATE_RELOAD_INTERVAL": 0})
    assert any(p.code == "case_failed" for p in refused.value.problems)
