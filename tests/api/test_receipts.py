"""Issue 14, item 5: receipts. Every decision item carries a version (its rule and its words as
shown), and an earlier rule set can answer again (`version=`), as it did, with its old ETag."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator

import pytest

from api.replay import KEEP_PAST
from engine.receipts import item_version

from ..conftest import REPO_ROOT, RULES_DIR
from .history import reload, rename_access_right, rules_app, set_portugal_consent_age, touch_later, version

VERSION = re.compile(r"[0-9a-f]{16}")
SECTIONS = {"rights": "right", "opt_outs": "opt_out", "notices": "notice"}


def items(body: dict) -> dict[tuple[str, str], dict]:
    """Every item of a decision by (kind, id), the age gate included."""
    found = {("age_gate", "age_gate"): body["age_gate"]}
    for section, kind in SECTIONS.items():
        found.update({(kind, item["id"]): item for item in body[section]})
    return found


def versions(body: dict) -> dict[tuple[str, str], str]:
    return {key: item["version"] for key, item in items(body).items()}


def decide(client, **params) -> dict:
    response = client.get("/v1/decision", query_string=params)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


# -- item versions ----------------------------------------------------------------------------


def test_every_item_carries_the_hash_of_what_it_shows(client):
    body = decide(client, jurisdiction="DE", age=15, as_of="2026-01-01")
    found = items(body)
    assert len(found) > 15 and {kind for kind, _ in found} == {"age_gate", "right", "opt_out", "notice"}
    for (kind, item_id), item in found.items():
        assert VERSION.fullmatch(item["version"]), (kind, item_id)
        # The hash of exactly what is served (markers aside): recomputing it gives it back,
        # and any field of the item moves it.
        assert item_version(kind, item) == item["version"]
        assert item_version(kind, {**item, "citation": item["citation"] + "!"}) != item["version"]
        assert item_version(kind, {**item, "title": item["title"] + "!"}) != item["version"]
        assert item_version(kind, {**item, "fallback_locale": "en"}) == item["version"]
    assert len(set(versions(body).values())) == len(found)  # every item its own


def test_served_versions_are_the_hash_of_what_is_served_everywhere(client):
    """The Serving remembers versions by effect, place, language and consent age (one hash for
    every class sharing an item); whatever it remembered must be the hash of what it serves."""
    checked = 0
    # Every class in several languages (a hash remembered for one must not serve another).
    variants = [{"locale": tag, **extra} for extra in ({}, {"gpc": "1"}, {"context": "school"})
                for tag in ("en", "fr", "de")]
    for code in ("DE", "FR", "PT", "EEA", "US-CA", "US-CT", "CA-QC", "BR", "GB", "DEFAULT"):
        for age in (None, 9, 13, 15, 16, 30):
            for params in variants:
                query = {"jurisdiction": code, "as_of": "2026-08-01", **params}
                if age is not None:
                    query["age"] = age
                for (kind, _), item in items(decide(client, **query)).items():
                    assert item_version(kind, item) == item["version"], (query, kind, item.get("id"))
                    checked += 1
    assert checked > 2000


def test_versions_depend_on_the_rule_and_words_not_on_the_request(client):
    one = decide(client, jurisdiction="DE", age=30, as_of="2026-01-01")
    # Another age in the same band, another spelling of the place, another day in the same
    # interval, the body instead of the query: the same items, the same versions.
    for other in (decide(client, jurisdiction="de", age=41, as_of="2026-03-01"),
                  client.post("/v1/decision", json={"jurisdiction": "DE", "birthdate": "1990-01-01",
                                                    "as_of": "2026-01-02"}).get_json()):
        assert versions(other) == versions(one)
    # A child in Germany is shown other things (a parent consents): those items differ.
    child = versions(decide(client, jurisdiction="DE", age=15, as_of="2026-01-01"))
    assert child[("age_gate", "age_gate")] != versions(one)[("age_gate", "age_gate")]
    # The same law's same right in another EU state reads the same: the same receipt.
    austria = versions(decide(client, jurisdiction="AT", age=30, as_of="2026-01-01"))
    assert austria[("right", "erasure")] == versions(one)[("right", "erasure")]


def test_another_language_changes_the_versions_of_what_reads_differently(client):
    english = items(decide(client, jurisdiction="FR", age=30, as_of="2026-01-01", locale="en"))
    french = items(decide(client, jurisdiction="FR", age=30, as_of="2026-01-01", locale="fr"))
    assert english.keys() == french.keys()
    differ = 0
    for key, item in english.items():
        words = ("title", "text", "description")
        same_words = all(item.get(w) == french[key].get(w) for w in words)
        if not same_words:
            assert item["version"] != french[key]["version"], key
            differ += 1
    assert differ > 10


def test_a_text_edit_changes_that_item_only_and_an_unrelated_edit_none(make_app, scratch_rules):
    app = make_app(RIGHTSGATE_RULES_DIR=scratch_rules, RIGHTSGATE_RELOAD_INTERVAL=0)
    client = app.test_client()
    asked = [dict(jurisdiction=code, age=age, as_of="2026-01-01", locale=locale)
             for code in ("DE", "US-CA", "PT") for age in (14, 30) for locale in ("en", "de")]
    before = [decide(client, **params) for params in asked]
    old_version = version(client)

    rename_access_right(scratch_rules)  # English words of one right
    assert reload(app) != old_version
    after = [decide(client, **params) for params in asked]

    moved, expected = 0, sum(("right", "access") in versions(body) for body in before)
    for params, old, new in zip(asked, before, after, strict=True):
        assert new["ruleset"]["version"] != old["ruleset"]["version"]
        old_versions, new_versions = versions(old), versions(new)
        assert old_versions.keys() == new_versions.keys()
        for key in old_versions:
            if key == ("right", "access"):
                # English: new words. German: its translation is now stale, so English is served.
                assert new_versions[key] != old_versions[key], params
                moved += 1
            else:
                assert new_versions[key] == old_versions[key], (params, key)
    assert moved == expected >= 8  # at least DE and PT x 2 ages x 2 languages


def test_a_translation_change_changes_the_version_in_that_language(make_app, scratch_rules, tmp_path):
    locales = tmp_path / "locales"
    shutil.copytree(REPO_ROOT / "locales", locales)
    app = make_app(RIGHTSGATE_RULES_DIR=scratch_rules, RIGHTSGATE_LOCALES_DIR=locales,
                   RIGHTSGATE_RELOAD_INTERVAL=0)
    client = app.test_client()
    german, english = (versions(decide(client, jurisdiction="DE", age=30, locale=tag))
                       for tag in ("de", "en"))
    po = locales / "de" / "LC_MESSAGES" / "messages.po"
    text = po.read_text(encoding="utf-8")
    assert 'msgstr "Auskunftsrecht"' in text
    po.write_text(text.replace('msgstr "Auskunftsrecht"', 'msgstr "Recht auf Auskunft"'), encoding="utf-8")
    touch_later(po)
    assert app.extensions["rightsgate"].check_now() is True
    german_now = versions(decide(client, jurisdiction="DE", age=30, locale="de"))
    assert german_now[("right", "access")] != german[("right", "access")]
    assert {k: v for k, v in german_now.items() if k != ("right", "access")} == {
        k: v for k, v in german.items() if k != ("right", "access")}
    assert versions(decide(client, jurisdiction="DE", age=30, locale="en")) == english


def test_the_openapi_document_describes_item_versions(client):
    schemas = client.get("/openapi.json").get_json()["components"]["schemas"]
    for name in ("AgeGate", "Right", "OptOut", "Notice"):
        assert "version" in schemas[name]["required"], name
        assert "content hash" in schemas[name]["properties"]["version"]["description"]


# -- replaying an earlier rule set ----------------------------------------------------------------

PORTUGAL_14 = {"jurisdiction": "PT", "age": 14, "as_of": "2026-01-01"}


@pytest.fixture(scope="module")
def replay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """An app that served the shipped rules (answers kept), then Portugal at 16."""
    root = tmp_path_factory.mktemp("replay")
    rules = root / "rules"
    shutil.copytree(RULES_DIR, rules)
    app = rules_app(rules, root / "state")
    client = app.test_client()
    old = {
        "get": client.get("/v1/decision", query_string=PORTUGAL_14),
        "post": client.post("/v1/decision", json=PORTUGAL_14, headers={"Accept-Language": "fr"}),
        "gpc": client.get("/v1/decision?jurisdiction=PT&age=14&as_of=2022-01-01", headers={"Sec-GPC": "1"}),
    }
    first = version(client)
    set_portugal_consent_age(rules, 16)
    second = reload(app)
    yield {"app": app, "client": client, "old": old, "first": first, "second": second}
    app.extensions["rightsgate"].stop()


def test_the_edit_changed_the_answer(replay):
    now = replay["client"].get("/v1/decision", query_string=PORTUGAL_14)
    old = replay["old"]["get"]
    assert old.get_json()["age_gate"]["status"] == "allowed"
    assert now.get_json()["age_gate"]["status"] == "parental_consent_required"
    assert now.headers["ETag"] != old.headers["ETag"]


def test_version_replays_the_old_answer_with_its_old_etag(replay):
    client, old, first = replay["client"], replay["old"], replay["first"]
    for _ in range(2):  # the second time from the remembered answer (before Flask)
        again = client.get("/v1/decision", query_string={**PORTUGAL_14, "version": first})
        assert again.status_code == 200
        assert again.data == old["get"].data
        assert again.headers["ETag"] == old["get"].headers["ETag"]
        assert again.headers["Cache-Control"] == old["get"].headers["Cache-Control"]
    posted = client.post("/v1/decision", json={**PORTUGAL_14, "version": first},
                         headers={"Accept-Language": "fr"})
    assert (posted.data, posted.headers["ETag"]) == (old["post"].data, old["post"].headers["ETag"])
    # With as_of and the Sec-GPC header, as on any day.
    gpc = client.get(f"/v1/decision?jurisdiction=PT&age=14&as_of=2022-01-01&version={first}",
                     headers={"Sec-GPC": "1"})
    assert (gpc.data, gpc.headers["ETag"]) == (old["gpc"].data, old["gpc"].headers["ETag"])
    # A client holding the old copy revalidates it against the old rule set.
    cached = client.get("/v1/decision", query_string={**PORTUGAL_14, "version": first},
                        headers={"If-None-Match": old["get"].headers["ETag"]})
    assert cached.status_code == 304


def test_the_current_version_may_be_named_too(replay):
    client, second = replay["client"], replay["second"]
    plain = client.get("/v1/decision", query_string=PORTUGAL_14)
    named = client.get("/v1/decision", query_string={**PORTUGAL_14, "version": second})
    assert (named.data, named.headers["ETag"]) == (plain.data, plain.headers["ETag"])


def test_item_versions_survive_the_edit_where_nothing_changed(replay):
    client, first = replay["client"], replay["first"]
    adult = {"jurisdiction": "PT", "age": 30, "as_of": "2026-01-01"}
    then = versions(client.get("/v1/decision", query_string={**adult, "version": first}).get_json())
    now = versions(client.get("/v1/decision", query_string=adult).get_json())
    gate = ("age_gate", "age_gate")
    # An adult in Portugal is shown the same rights, opt-outs and notices as before; the age
    # gate shows the digital consent age, which changed, so its receipt changed too.
    assert {k: v for k, v in then.items() if k != gate} == {k: v for k, v in now.items() if k != gate}
    assert then[gate] != now[gate]
    child_then = versions(decide(client, **PORTUGAL_14, version=first))
    child_now = versions(decide(client, **PORTUGAL_14))
    assert child_then[("age_gate", "age_gate")] != child_now[("age_gate", "age_gate")]
    assert child_then[("right", "access")] == child_now[("right", "access")]


def test_past_rule_sets_are_kept_in_memory_a_few_at_a_time(replay):
    reloader = replay["app"].extensions["rightsgate"]
    client, first = replay["client"], replay["first"]
    client.get("/v1/decision", query_string={"jurisdiction": "DE", "version": first})
    loads = reloader.past.loads
    for age in (20, 21, 22):
        client.get("/v1/decision", query_string={"jurisdiction": "DE", "age": age, "version": first})
    assert reloader.past.loads == loads  # loaded once, then answered from memory
    assert len(reloader.past._items) <= KEEP_PAST


@pytest.mark.parametrize(("value", "message"), [
    ("0123456789abcdef", "not a rule set this service activated"),
    ("E08317D5DCBA098A", "16 hex digits"),
    ("e08317d5", "16 hex digits"),
    ("../../etc/passwd", "16 hex digits"),
])
def test_a_version_that_is_not_archived_is_a_problem_naming_version(replay, value, message):
    client = replay["client"]
    asked = {**PORTUGAL_14, "version": value}
    for response, where in ((client.get("/v1/decision", query_string=asked), "query"),
                            (client.post("/v1/decision", json=asked), "body")):
        assert response.status_code == 422
        assert response.content_type == "application/problem+json"
        problem = response.get_json()
        (error,) = problem["errors"]
        assert (error["field"], error["in"]) == ("version", where)
        assert message in error["message"]
    known = client.get("/v1/decision", query_string={**PORTUGAL_14, "version": "0123456789abcdef"})
    assert replay["first"] in known.get_json()["errors"][0]["message"]  # says which it keeps


def test_the_version_parameter_is_documented(client):
    document = client.get("/openapi.json").get_json()
    get = document["paths"]["/v1/decision"]["get"]
    (param,) = [p for p in get["parameters"] if p["name"] == "version"]
    assert param["in"] == "query" and param["required"] is False
    assert "version" in document["components"]["schemas"]["DecisionRequest"]["properties"]
    assert json.dumps(param).count("RIGHTSGATE_ARCHIVE_VERSIONS") == 1


def test_a_replay_logs_the_replayed_version_and_no_personal_data(replay, capsys):
    client, first = replay["client"], replay["first"]
    client.get("/v1/decision", query_string={"jurisdiction": "PT", "birthdate": "2011-07-19",
                                             "version": first, "as_of": "2026-01-01"})
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    (line,) = [entry for entry in lines if entry.get("path") == "/v1/decision"]
    assert line["ruleset"] == first
    assert "2011-07-19" not in json.dumps(line) and "birthdate" not in json.dumps(line)
