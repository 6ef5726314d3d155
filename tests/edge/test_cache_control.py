"""Which decisions a shared cache may keep: without age or birthdate `public` (with
stale-while-revalidate), with either `private`; on every path (GET, POST, the WSGI
front's memo, 304) and with the settings' numbers."""

from __future__ import annotations

import pytest

from api.config import ConfigError, load_settings

PUBLIC = "public, max-age=300, stale-while-revalidate=60"
PRIVATE = "private, max-age=300"


@pytest.mark.parametrize("query", [
    "jurisdiction=DE", "jurisdiction=US-CA&gpc=1&locale=fr-CA", "jurisdiction=AT&context=school",
    "jurisdiction=FR&as_of=2026-01-01", "", "jurisdiction=DE&age=", "jurisdiction=DE&birthdate=",
])
def test_a_decision_without_age_or_birthdate_is_public(client, query):
    for _ in range(2):  # the second is answered from the memo by the WSGI front
        response = client.get(f"/v1/decision?{query}")
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == PUBLIC
        assert response.headers["Vary"] == "Accept-Language, Sec-GPC"


@pytest.mark.parametrize("query", [
    "jurisdiction=DE&age=15", "jurisdiction=DE&age=0", "jurisdiction=US-CA&age=40&gpc=1",
    "jurisdiction=AT&birthdate=2013-05-01", "jurisdiction=AT&birthdate=1950-05-01&context=school",
    "age=30",
])
def test_a_decision_with_age_or_birthdate_is_private(client, query):
    for _ in range(2):
        response = client.get(f"/v1/decision?{query}")
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == PRIVATE


def test_post_follows_the_same_rule(client):
    for body, expected in (({"jurisdiction": "DE"}, PUBLIC), ({"jurisdiction": "DE", "age": None}, PUBLIC),
                           ({"jurisdiction": "DE", "age": 15}, PRIVATE),
                           ({"jurisdiction": "DE", "birthdate": "2010-01-01"}, PRIVATE)):
        for _ in range(2):
            assert client.post("/v1/decision", json=body).headers["Cache-Control"] == expected, body


def test_aged_answers_in_the_body_cache_never_make_the_age_less_one_private(client):
    # The body cache keys on the input class, whose age band tells "no age" apart.
    for age in ("13", "30", "90"):
        assert client.get(f"/v1/decision?jurisdiction=GB&age={age}").headers["Cache-Control"] == PRIVATE
    assert client.get("/v1/decision?jurisdiction=GB").headers["Cache-Control"] == PUBLIC


def test_304_repeats_the_caching_headers(client):
    for query, expected in (("jurisdiction=IE", PUBLIC), ("jurisdiction=IE&age=15", PRIVATE)):
        first = client.get(f"/v1/decision?{query}")
        again = client.get(f"/v1/decision?{query}", headers={"If-None-Match": first.headers["ETag"]})
        assert again.status_code == 304
        assert again.headers["ETag"] == first.headers["ETag"]
        assert again.headers["Cache-Control"] == expected
        assert again.headers["Vary"] == first.headers["Vary"]


def test_public_etags_are_per_language_and_stable(client):
    en = client.get("/v1/decision?jurisdiction=BE", headers={"Accept-Language": "en"})
    nl = client.get("/v1/decision?jurisdiction=BE", headers={"Accept-Language": "nl-BE"})
    assert en.headers["ETag"] != nl.headers["ETag"]
    assert client.get("/v1/decision?jurisdiction=BE&locale=nl").headers["ETag"] == nl.headers["ETag"]
    assert nl.headers["Cache-Control"] == PUBLIC


def test_the_numbers_come_from_the_settings(module_app):
    client = module_app(RIGHTSGATE_DECISION_MAX_AGE=7,
                        RIGHTSGATE_DECISION_STALE_WHILE_REVALIDATE=3).test_client()
    assert client.get("/v1/decision?jurisdiction=DE").headers["Cache-Control"] == (
        "public, max-age=7, stale-while-revalidate=3")
    assert client.get("/v1/decision?jurisdiction=DE&age=9").headers["Cache-Control"] == "private, max-age=7"
    no_swr = module_app(RIGHTSGATE_DECISION_STALE_WHILE_REVALIDATE=0).test_client()
    assert no_swr.get("/v1/decision?jurisdiction=DE").headers["Cache-Control"] == "public, max-age=300"


def test_the_stale_while_revalidate_setting_is_checked():
    assert load_settings(environ={})["RIGHTSGATE_DECISION_STALE_WHILE_REVALIDATE"] == 60
    assert load_settings(environ={"RIGHTSGATE_DECISION_STALE_WHILE_REVALIDATE": "5"})[
        "RIGHTSGATE_DECISION_STALE_WHILE_REVALIDATE"] == 5
    for bad in ("-1", "soon", "1.5"):
        with pytest.raises(ConfigError, match="RIGHTSGATE_DECISION_STALE_WHILE_REVALIDATE"):
            load_settings(environ={"RIGHTSGATE_DECISION_STALE_WHILE_REVALIDATE": bad})
