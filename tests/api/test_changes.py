"""Issue 14, item 5: GET /v1/changes lists what changed, for whom, between two rule set versions
the service activated; the archive of those versions survives a restart and is bounded."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.archive import VersionArchive

from ..conftest import RULES_DIR
from .history import (
    reload,
    rename_access_right,
    rules_app,
    set_portugal_consent_age,
    shipped_rules,
    version,
)


@pytest.fixture(scope="module")
def portugal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """An app that activated the shipped rules, then Portugal's consent age raised to 16."""
    root = tmp_path_factory.mktemp("changes")
    rules = root / "rules"
    shutil.copytree(RULES_DIR, rules)
    app = rules_app(rules, root / "state")
    client = app.test_client()
    first = version(client)
    set_portugal_consent_age(rules, 16)
    second = reload(app)
    yield {"app": app, "client": client, "rules": rules, "state": root / "state",
           "first": first, "second": second}
    app.extensions["rightsgate"].stop()


def changes(client, **params):
    return client.get("/v1/changes", query_string=params)


def test_changes_since_the_previous_set_name_portugal_ages_13_to_15(portugal):
    response = changes(portugal["client"], since=portugal["first"])
    assert response.status_code == 200
    assert response.content_type == "application/json"
    body = response.get_json()
    assert (body["from"], body["to"], body["changed"]) == (portugal["first"], portugal["second"], True)
    assert body["added"] == body["removed"] == body["texts"] == []
    assert body["frameworks_added"] == body["frameworks_removed"] == []
    assert body["changes"] and {c["jurisdiction"] for c in body["changes"]} == {"PT"}
    by_what = {(c["ages"], c["what"]): c for c in body["changes"]}
    status = by_what[("ages 13-15", "age_gate.status")]
    assert (status["before"], status["after"]) == ("allowed", "parental_consent_required")
    assert status["name"] == "Portugal"
    assert status["as_of"] == "2019-08-09"  # the rule's first day
    assert status["sentence"].startswith("Portugal, ages 13-15")
    assert "parent's consent" in status["sentence"]
    age = [c for c in body["changes"] if c["what"] == "age_gate.digital_consent_age"]
    assert [(c["before"], c["after"]) for c in age] == [(13, 16)]
    # Everyone aged 13-15 there, and nobody else, is now asked for a parent's consent.
    concerned = {c["ages"] for c in body["changes"] if c["what"] != "age_gate.digital_consent_age"}
    assert concerned == {"ages 13-15"}
    for change in body["changes"]:
        assert set(change) == {"jurisdiction", "name", "ages", "gpc", "context", "as_of", "what",
                               "before", "after", "sentence"}
        assert change["sentence"].startswith(f"Portugal, {change['ages']}")


def test_until_names_the_newer_side_and_either_order_works(portugal):
    client, first, second = portugal["client"], portugal["first"], portugal["second"]
    default = changes(client, since=first)
    explicit = changes(client, since=first, until=second)
    assert explicit.data == default.data and explicit.headers["ETag"] == default.headers["ETag"]
    back = changes(client, since=second, until=first).get_json()
    assert (back["from"], back["to"]) == (second, first)
    status = [c for c in back["changes"] if c["what"] == "age_gate.status"]
    assert [(c["before"], c["after"]) for c in status] == [("parental_consent_required", "allowed")]
    same = changes(client, since=second).get_json()
    assert (same["from"], same["to"], same["changed"], same["changes"]) == (second, second, False, [])


def test_a_comparison_is_made_once_per_pair_and_revalidates(portugal):
    client, first = portugal["client"], portugal["first"]
    log = portugal["app"].extensions["rightsgate"].changes
    changes(client, since=first)
    computed = log.computed
    started = time.perf_counter()
    again = changes(client, since=first)
    assert log.computed == computed
    assert time.perf_counter() - started < 0.5  # a kept answer, not another second of diffing
    assert again.headers["Cache-Control"].startswith("public, max-age=")
    cached = client.get("/v1/changes", query_string={"since": first},
                        headers={"If-None-Match": again.headers["ETag"]})
    assert cached.status_code == 304 and not cached.data


@pytest.mark.parametrize(("params", "fields", "message"), [
    ({}, {"since"}, "Missing data"),
    ({"since": ""}, {"since"}, "Missing data"),
    ({"since": "not-a-version"}, {"since"}, "16 hex digits"),
    ({"since": "0123456789abcdef"}, {"since"}, "not a rule set this service activated"),
    ({"since": "0123456789abcdef", "until": "fedcba9876543210"}, {"since", "until"}, "still keeps"),
    ({"since": "0123456789abcdef", "colour": "red"}, {"colour"}, "unknown parameter"),
])
def test_bad_since_or_until_is_a_problem_naming_it(portugal, params, fields, message):
    response = changes(portugal["client"], **params)
    assert response.status_code == 422
    assert response.content_type == "application/problem+json"
    problem = response.get_json()
    assert {e["field"] for e in problem["errors"]} == fields
    assert all(e["in"] == "query" for e in problem["errors"])
    assert message in problem["errors"][0]["message"]


def test_until_alone_bad_names_until(portugal):
    response = changes(portugal["client"], since=portugal["first"], until="0123456789abcdef")
    assert response.status_code == 422
    assert [e["field"] for e in response.get_json()["errors"]] == ["until"]


def test_the_archive_survives_a_restart(portugal):
    """A new app on the same rules and state directory (a restart) still knows the old set."""
    again = rules_app(portugal["rules"], portugal["state"])
    try:
        client = again.test_client()
        assert version(client) == portugal["second"]
        restarted = changes(client, since=portugal["first"])
        assert restarted.status_code == 200
        assert restarted.data == changes(portugal["client"], since=portugal["first"]).data
        replayed = client.get("/v1/decision", query_string={"jurisdiction": "PT", "age": 14,
                                                            "version": portugal["first"]})
        assert replayed.get_json()["age_gate"]["status"] == "allowed"
    finally:
        again.extensions["rightsgate"].stop()


def test_the_archive_keeps_the_last_n_activated_versions(tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(RULES_DIR, rules)
    state = tmp_path / "state"
    app = rules_app(rules, state, RIGHTSGATE_ARCHIVE_VERSIONS=2)
    try:
        client = app.test_client()
        first = version(client)
        set_portugal_consent_age(rules, 16)
        second = reload(app)
        shipped_rules(rules)
        rename_access_right(rules)
        third = reload(app)
        assert len({first, second, third}) == 3
        pruned = changes(client, since=first)
        assert pruned.status_code == 422
        (error,) = pruned.get_json()["errors"]
        assert error["field"] == "since" and f"last 2, newest first: {third}, {second}" in error["message"]
        assert changes(client, since=second).status_code == 200
        refused = client.get("/v1/decision", query_string={"jurisdiction": "PT", "version": first})
        assert refused.status_code == 422 and refused.get_json()["errors"][0]["field"] == "version"
        # Activating the first set again makes it the newest; the oldest (second) goes.
        shipped_rules(rules)
        assert reload(app) == first
        assert changes(client, since=third).status_code == 200
        assert changes(client, since=second).status_code == 422
        reloader = app.extensions["rightsgate"]
        assert [e.version for e in reloader.state.archive.kept()] == [first, third]
        # The sets the archive names are kept on disk (pruning the others is bounded too).
        on_disk = {p.name for p in reloader.state.sets.iterdir()}
        assert {e.digest for e in reloader.state.archive.kept()} <= on_disk
    finally:
        app.extensions["rightsgate"].stop()
    # After a restart the bound still holds, and the pruned version is still refused.
    again = rules_app(rules, state, RIGHTSGATE_ARCHIVE_VERSIONS=2)
    try:
        client = again.test_client()
        assert changes(client, since=third).status_code == 200
        assert changes(client, since=second).status_code == 422
    finally:
        again.extensions["rightsgate"].stop()


def test_the_version_archive_on_its_own(tmp_path: Path):
    archive = VersionArchive(tmp_path, size=3)
    versions = [f"{n:016x}" for n in range(5)]
    for n, version_ in enumerate(versions):
        archive.record(version_, f"{n:064x}")
        time.sleep(0.01)  # distinct activation times
    assert [e.version for e in archive.kept()] == versions[:1:-1]
    assert archive.digest(versions[4]) == f"{4:064x}"
    assert archive.digest(versions[0]) is None  # pruned
    # Another process (a restart) reads the same, and writes into the same bound.
    other = VersionArchive(tmp_path, size=3)
    assert [e.version for e in other.kept()] == versions[:1:-1]
    other.record(versions[2], f"{2:064x}")  # a roll-back: newest again
    assert [e.version for e in archive.kept()] == [versions[2], versions[4], versions[3]]
    # Nothing but a version is ever a file name; junk in the directory is ignored.
    for bad in ("../current", "", "0123", "0123456789ABCDEF"):
        assert archive.digest(bad) is None
    (archive.directory / "0123456789abcdef").write_text("not a digest\n")
    (archive.directory / "notes.txt").write_text("hello\n")
    assert [e.version for e in archive.kept()] == [versions[2], versions[4], versions[3]]
    with pytest.raises(ValueError):
        archive.record("../../x", f"{1:064x}")


def test_the_changes_endpoint_is_documented(client):
    document = client.get("/openapi.json").get_json()
    operation = document["paths"]["/v1/changes"]["get"]
    params = {p["name"]: p for p in operation["parameters"] if p["in"] == "query"}
    assert set(params) == {"since", "until"}
    assert params["since"]["required"] is True and params["until"]["required"] is False
    assert {"200", "304", "422"} <= set(operation["responses"])
    change = document["components"]["schemas"]["Change"]
    assert set(change["required"]) == {"jurisdiction", "name", "ages", "gpc", "context", "as_of", "what",
                                       "before", "after", "sentence"}
