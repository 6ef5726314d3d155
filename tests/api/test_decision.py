"""GET and POST /v1/decision: the contract in docs/design.md, through the test client."""

from __future__ import annotations

import json
from datetime import date

import pytest

DAY = "2026-11-22"


def get(client, headers=None, **params):
    return client.get("/v1/decision", query_string=params, headers=headers or {})


def post(client, body, headers=None):
    return client.post("/v1/decision", data=json.dumps(body), content_type="application/json",
                       headers=headers or {})


# -- the contract -------------------------------------------------------------------


def test_signup_age_gate_for_austria_at_13(client):
    response = post(client, {"jurisdiction": "AT", "age": 13, "as_of": DAY})
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body = response.get_json()
    gate = body["age_gate"]
    assert gate["status"] == "parental_consent_required"
    assert gate["digital_consent_age"] == 14
    assert gate["parental_consent_required"] is True
    assert gate["minimum_age"] == 13
    assert gate["basis"] == "law"
    assert gate["rule"] == "gdpr.art8.at"
    assert "Art. 8" in gate["citation"]
    assert gate["title"] and gate["text"]


def test_every_contract_field_is_present(client):
    body = get(client, jurisdiction="DE", age=15, as_of=DAY).get_json()
    assert set(body) >= {"jurisdiction", "locale", "ruleset", "context", "age_gate", "rights", "opt_outs",
                         "notices"}
    # The DSA is EU law beside the GDPR (Germany is an EU state, so both frameworks apply).
    assert body["jurisdiction"] == {
        "code": "DE", "requested": "DE", "name": "Germany", "frameworks": ["gdpr", "dsa"],
        "frameworks_text": body["jurisdiction"]["frameworks_text"], "path": ["EEA", "DE"],
        "matched": "country"}
    assert body["context"] == "consumer"
    assert body["ruleset"]["as_of"] == DAY
    assert len(body["ruleset"]["version"]) >= 8
    assert body["locale"] == "en"
    assert set(body["age_gate"]) >= {"status", "digital_consent_age", "parental_consent_required",
                                      "minimum_age", "basis", "rule", "citation", "title", "text"}
    rights = {r["id"]: r for r in body["rights"]}
    assert {"access", "erasure", "complain"} <= set(rights)
    assert rights["access"]["response"]["deadline"] == "P1M"
    assert rights["access"]["response"]["extension"] == "P2M"
    assert rights["complain"]["authority"]["url"].startswith("https://")
    for right in body["rights"]:
        assert {"id", "title", "description", "citation", "rule"} <= set(right)
    for opt_out in body["opt_outs"]:
        assert {"id", "mechanism", "default", "gpc_applied", "title", "text"} <= set(opt_out)
        assert opt_out["mechanism"] in ("opt_in", "opt_out", "prohibited")
        assert opt_out["default"] in ("on", "off")
        if opt_out["mechanism"] == "opt_in":
            # 15 is below Germany's age of 16: a parent consents to every opt-in (GDPR Art. 8).
            assert opt_out["consent_by"] == "parent"
            assert opt_out["consent_rule"] == "gdpr.art8.de"
            assert "consent_basis" not in opt_out  # the law decided, not the policy
        if opt_out["mechanism"] == "prohibited":
            assert opt_out["default"] == "off" and opt_out["gpc_applied"] is False
    for notice in body["notices"]:
        assert {"id", "title", "text", "citation", "rule"} <= set(notice)


def test_no_age_asks_for_one(client):
    body = get(client, jurisdiction="DE").get_json()
    assert body["age_gate"]["status"] == "age_required"


def test_below_minimum_age_is_blocked_and_adult_allowed(client):
    assert get(client, jurisdiction="DE", age=12).get_json()["age_gate"]["status"] == "blocked"
    assert get(client, jurisdiction="DE", age=40).get_json()["age_gate"]["status"] == "allowed"


def test_switzerland_has_no_statutory_consent_age(client):
    gate = get(client, jurisdiction="CH", age=40).get_json()["age_gate"]
    assert gate["digital_consent_age"] is None


def test_get_and_post_agree_byte_for_byte(client):
    cases = [
        {"jurisdiction": "AT", "age": 13},
        {"jurisdiction": "us-ca", "age": 15, "gpc": True, "locale": "fr"},
        {"jurisdiction": "UK", "birthdate": "2010-02-28"},
        {},
        {"jurisdiction": "CA_QC", "age": 14, "gpc": False, "locale": "fr-CA"},
    ]
    for case in cases:
        case = {**case, "as_of": DAY}
        query = {k: (str(v).lower() if isinstance(v, bool) else v) for k, v in case.items()}
        got, posted = get(client, **query), post(client, case)
        assert got.status_code == posted.status_code == 200, case
        assert got.data == posted.data, case
        assert got.headers["ETag"] == posted.headers["ETag"]
        assert got.headers["Content-Language"] == posted.headers["Content-Language"]


def test_post_accepts_nulls_as_not_given(client):
    explicit = post(client, {"jurisdiction": None, "age": None, "gpc": None, "locale": None,
                             "as_of": DAY})
    assert explicit.status_code == 200
    assert explicit.data == post(client, {"as_of": DAY}).data


def test_empty_query_values_mean_not_given(client):
    assert get(client, jurisdiction="", age="", as_of=DAY).data == get(client, as_of=DAY).data


# -- jurisdictions --------------------------------------------------------------------


@pytest.mark.parametrize(("requested", "code", "matched"), [
    ("DE", "DE", "country"),
    ("de", "DE", "country"),
    (" de ", "DE", "country"),
    ("CA", "CA", "country"),
    ("California", "US-CA", "alias"),
    ("us-ca", "US-CA", "subdivision"),
    ("US_CA", "US-CA", "subdivision"),
    ("ca-qc", "CA-QC", "subdivision"),
    ("CA-ON", "CA", "country"),
    ("UK", "GB", "alias"),
    ("EL", "GR", "alias"),
    ("EU", "EEA", "region"),
    ("EEA", "EEA", "region"),
    ("BR", "BR", "country"),
    ("jp", "JP", "country"),
    ("US", "US", "country"),
    ("US-TX", "US-TX", "subdivision"),
    ("us_ak", "US-AK", "subdivision"),
    ("US-ZZ", "US", "country"),
    ("RE", "FR", "territory"),
    ("fr-974", "FR", "territory"),
    ("AX", "FI", "territory"),
    ("PR", "US", "territory"),
    ("us-pr", "US", "territory"),
    ("ZZ", "DEFAULT", "default"),
    ("KP", "DEFAULT", "default"),
    (None, "DEFAULT", "default"),
])
def test_jurisdiction_normalisation(client, requested, code, matched):
    params = {"as_of": DAY} if requested is None else {"jurisdiction": requested, "as_of": DAY}
    body = get(client, **params).get_json()
    assert body["jurisdiction"]["code"] == code
    assert body["jurisdiction"]["matched"] == matched
    assert body["jurisdiction"]["requested"] == (requested.strip() if requested else None)


def test_canada_is_never_california(client):
    canada = get(client, jurisdiction="CA", age=30).get_json()["jurisdiction"]
    california = get(client, jurisdiction="California", age=30).get_json()["jurisdiction"]
    assert "pipeda" in canada["frameworks"] and "ccpa" not in canada["frameworks"]
    assert "ccpa" in california["frameworks"]


@pytest.mark.parametrize("requested", ["ZZ", "KP", "BQ", "XK"])
def test_unmodelled_places_get_the_default_regime(client, requested):
    jur = get(client, jurisdiction=requested, as_of=DAY).get_json()["jurisdiction"]
    assert (jur["code"], jur["matched"]) == ("DEFAULT", "default")
    assert jur["frameworks"] == ["default"]


def _gate(client, **params):
    response = get(client, as_of=DAY, **params)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["age_gate"]


def test_the_united_states_is_the_federal_baseline(client):
    """COPPA under 13 (the minimum signup age blocks first), the policy age above it."""
    jur = get(client, jurisdiction="US", as_of=DAY).get_json()["jurisdiction"]
    assert jur["frameworks"] == ["default", "coppa", "ferpa"]
    assert _gate(client, jurisdiction="US", age=12)["status"] == "blocked"
    teen = _gate(client, jurisdiction="US", age=13)
    assert (teen["status"], teen["digital_consent_age"], teen["basis"]) == (
        "parental_consent_required", None, "policy")
    assert teen["consent_by"] == "parent"
    assert _gate(client, jurisdiction="US", age=16)["status"] == "allowed"


def test_a_school_consents_for_a_us_child_under_13(client):
    gate = _gate(client, jurisdiction="US", age=10, context="school")
    assert (gate["status"], gate["digital_consent_age"], gate["consent_by"]) == (
        "parental_consent_required", 13, "school")
    assert gate["minimum_age"] == 5  # policy.yaml minimum_signup_age_in_school_context
    assert _gate(client, jurisdiction="US", age=4, context="school")["status"] == "blocked"
    assert _gate(client, jurisdiction="US", age=10)["status"] == "blocked"  # a consumer account


def test_texas_answers_with_its_own_law(client):
    body = get(client, jurisdiction="US-TX", age=13, as_of=DAY).get_json()
    assert body["jurisdiction"]["code"] == "US-TX"
    assert body["jurisdiction"]["frameworks"] == ["tdpsa", "default", "coppa", "ferpa"]
    assert body["jurisdiction"]["path"] == ["US", "US-TX"]
    gate = body["age_gate"]
    # TDPSA's "child" is COPPA's (under 13): from 13 the person consents (from 1 July 2024).
    assert (gate["status"], gate["digital_consent_age"], gate["basis"]) == ("allowed", 13, "law")
    before = get(client, jurisdiction="US-TX", age=13, as_of="2024-06-30").get_json()["age_gate"]
    assert (before["status"], before["digital_consent_age"]) == ("parental_consent_required", None)


@pytest.mark.parametrize("state", ["US-AK", "US-GA", "US-WA", "US-DC"])
def test_a_state_without_a_law_keeps_its_code_and_the_federal_baseline(client, state):
    body = get(client, jurisdiction=state, age=13, as_of=DAY).get_json()
    federal = get(client, jurisdiction="US", age=13, as_of=DAY).get_json()
    assert (body["jurisdiction"]["code"], body["jurisdiction"]["matched"]) == (state, "subdivision")
    assert body["jurisdiction"]["frameworks"] == ["default", "coppa", "ferpa"]
    for part in ("age_gate", "rights", "opt_outs", "notices"):
        assert body[part] == federal[part], part


@pytest.mark.parametrize(("requested", "code", "age", "consent_age"), [
    ("RE", "FR", 14, 15), ("GP", "FR", 15, 15), ("AX", "FI", 13, 13), ("PR", "US", 13, None),
])
def test_territories_answer_as_their_country(client, requested, code, age, consent_age):
    body = get(client, jurisdiction=requested, age=age, as_of=DAY).get_json()
    assert body["jurisdiction"]["code"] == code
    assert body["jurisdiction"]["matched"] == "territory"
    assert body["jurisdiction"]["requested"] == requested
    assert body["age_gate"]["digital_consent_age"] == consent_age
    own = get(client, jurisdiction=code, age=age, as_of=DAY).get_json()
    assert body["age_gate"] == own["age_gate"]


# -- context -------------------------------------------------------------------------------


def test_context_is_echoed_and_defaults_to_consumer(client):
    assert get(client, jurisdiction="US", age=10, as_of=DAY).get_json()["context"] == "consumer"
    school = get(client, jurisdiction="US", age=10, as_of=DAY, context="school")
    assert school.get_json()["context"] == "school"
    consumer = get(client, jurisdiction="US", age=10, as_of=DAY, context="consumer")
    assert school.headers["ETag"] != consumer.headers["ETag"]
    posted = post(client, {"jurisdiction": "US", "age": 10, "as_of": DAY, "context": "school"})
    assert posted.status_code == 200
    assert posted.data == school.data


def test_school_accounts_never_sell_a_child_s_data(client):
    """COPPA: a school's consent covers the educational purpose only; sale and targeted
    advertising are prohibited for the child, whatever GPC says."""
    body = get(client, {"Sec-GPC": "1"}, jurisdiction="US-CA", age=10, as_of=DAY, context="school").get_json()
    opt_outs = {o["id"]: o for o in body["opt_outs"]}
    for opt_id in ("sale_sharing", "targeted_advertising"):
        assert opt_outs[opt_id]["mechanism"] == "prohibited"
        assert opt_outs[opt_id]["default"] == "off"
        assert opt_outs[opt_id]["gpc_applied"] is False


@pytest.mark.parametrize("value", ["work", "School ", "", "consumer,school"])
def test_unknown_context_is_422(client, value):
    response = get(client, jurisdiction="US", age=10, context=value)
    if value == "":
        assert response.status_code == 200  # an empty value means not given
        assert response.get_json()["context"] == "consumer"
        return
    assert response.status_code == 422
    assert [e["field"] for e in response.get_json()["errors"]] == ["context"]


@pytest.mark.parametrize(("value", "hint"), [("U-K", None), ("DEE", None), ("US-CA-X", "US-CA"),
                                             ("12", None)])
def test_malformed_jurisdiction_is_422_with_suggestion(client, value, hint):
    response = get(client, jurisdiction=value)
    assert response.status_code == 422
    problem = response.get_json()
    assert problem["errors"][0]["field"] == "jurisdiction"
    if hint:
        assert hint in problem["errors"][0]["message"]


# -- age and birthdate ----------------------------------------------------------------


def _status(client, **params):
    response = get(client, jurisdiction="AT", **params)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["age_gate"]["status"]


def test_birthdate_counts_age_as_of_the_given_day(client):
    # Austria: minimum signup age 13, consent age 14.
    assert _status(client, birthdate="2012-06-15", as_of="2025-06-14") == "blocked"  # 12
    assert _status(client, birthdate="2012-06-15", as_of="2025-06-15") == "parental_consent_required"
    assert _status(client, birthdate="2012-06-15", as_of="2026-06-15") == "allowed"  # 14


def test_leap_day_birthday_counts_from_first_of_march_in_common_years(client):
    assert _status(client, birthdate="2012-02-29", as_of="2025-02-28") == "blocked"  # still 12
    assert _status(client, birthdate="2012-02-29", as_of="2025-03-01") == "parental_consent_required"
    assert _status(client, birthdate="2012-02-29", as_of="2024-02-29") == "blocked"  # 12 on the day


def test_birthdate_and_age_agree(client):
    by_age = get(client, jurisdiction="AT", age=13, as_of=DAY)
    by_birthdate = get(client, jurisdiction="AT", birthdate="2013-01-01", as_of=DAY)
    assert by_age.data == by_birthdate.data


def test_born_today_is_age_zero(client):
    assert _status(client, birthdate=DAY, as_of=DAY) == "blocked"


@pytest.mark.parametrize(("params", "field"), [
    ({"birthdate": "2023-02-30"}, "birthdate"),
    ({"birthdate": "2023-13-01"}, "birthdate"),
    ({"birthdate": "2023-2-3"}, "birthdate"),
    ({"birthdate": "20230203"}, "birthdate"),
    ({"birthdate": "2023-W05-1"}, "birthdate"),
    ({"birthdate": "2030-01-01", "as_of": DAY}, "birthdate"),
    ({"birthdate": "1890-01-01", "as_of": DAY}, "birthdate"),
    ({"age": "131"}, "age"),
    ({"age": "-1"}, "age"),
    ({"age": "13.5"}, "age"),
    ({"age": "+13"}, "age"),
    ({"age": "thirteen"}, "age"),
    ({"age": "9" * 5000}, "age"),
    ({"as_of": "2026-02-29"}, "as_of"),
    ({"as_of": "tomorrow"}, "as_of"),
    ({"gpc": "yes"}, "gpc"),
    ({"locale": "fr CA"}, "locale"),
    ({"locale": "x" * 100}, "locale"),
    ({"jurisdiction": "D\x00E"}, "jurisdiction"),
])
def test_invalid_inputs_are_422_naming_the_field(client, params, field):
    response = get(client, jurisdiction=params.pop("jurisdiction", "AT"), **params)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert field in [e["field"] for e in problem["errors"]]


def test_age_and_birthdate_together_is_422_naming_both(client):
    response = get(client, jurisdiction="AT", age=13, birthdate="2013-01-01")
    assert response.status_code == 422
    assert {e["field"] for e in response.get_json()["errors"]} == {"age", "birthdate"}


def test_default_as_of_is_today_utc(client):
    from api.arguments import today_utc

    before = today_utc().isoformat()
    body = get(client, jurisdiction="DE").get_json()
    assert body["ruleset"]["as_of"] in (before, today_utc().isoformat())  # midnight may pass
    assert date.fromisoformat(body["ruleset"]["as_of"])


# -- GPC ---------------------------------------------------------------------------


def _sale_sharing(body):
    return {o["id"]: o for o in body["opt_outs"]}["sale_sharing"]


def test_sec_gpc_header_equals_gpc_parameter(client):
    header = get(client, {"Sec-GPC": "1"}, jurisdiction="US-CA", age=30, as_of=DAY)
    param = get(client, jurisdiction="US-CA", age=30, gpc="true", as_of=DAY)
    neither = get(client, jurisdiction="US-CA", age=30, as_of=DAY)
    assert header.data == param.data
    assert header.get_json()["gpc"] is True
    assert _sale_sharing(header.get_json())["gpc_applied"] is True
    assert _sale_sharing(header.get_json())["default"] == "off"
    assert neither.get_json()["gpc"] is False
    assert header.headers["ETag"] != neither.headers["ETag"]


@pytest.mark.parametrize(("value", "expected"), [("1", True), ("TRUE", True), ("true", True),
                                                  ("0", False), ("false", False), ("False", False)])
def test_gpc_parameter_spellings(client, value, expected):
    assert get(client, jurisdiction="US-CA", gpc=value).get_json()["gpc"] is expected


def test_header_turns_gpc_on_even_when_parameter_says_false(client):
    body = get(client, {"Sec-GPC": "1"}, jurisdiction="US-CA", gpc="false").get_json()
    assert body["gpc"] is True


def test_other_sec_gpc_values_are_ignored(client):
    assert get(client, {"Sec-GPC": "0"}, jurisdiction="US-CA").get_json()["gpc"] is False


def test_post_gpc_must_be_a_json_boolean(client):
    for value in ("true", 1, "1"):
        response = post(client, {"jurisdiction": "US-CA", "gpc": value})
        assert response.status_code == 422
        assert response.get_json()["errors"][0]["field"] == "gpc"


def test_post_age_must_be_a_json_integer(client):
    for value in ("13", 13.0, 13.5, True, [13], {"v": 13}, 10**40):
        response = post(client, {"jurisdiction": "AT", "age": value})
        assert response.status_code == 422, value
        assert response.get_json()["errors"][0]["field"] == "age"


# -- language --------------------------------------------------------------------------


def test_accept_language_picks_the_locale(client):
    response = get(client, {"Accept-Language": "de-AT,de;q=0.9,en;q=0.5"}, jurisdiction="AT", age=30)
    assert response.headers["Content-Language"] == "de"
    body = response.get_json()
    assert body["locale"] == "de"
    assert body["jurisdiction"]["name"] == "Österreich"


def test_accept_language_q_values_order_preferences(client):
    response = get(client, {"Accept-Language": "en;q=0.1, fr;q=0.8, xx;q=1"}, jurisdiction="FR")
    assert response.headers["Content-Language"] == "fr"
    assert response.get_json()["jurisdiction"]["name"] == "France"


def test_q_zero_means_not_acceptable(client):
    response = get(client, {"Accept-Language": "fr;q=0, de;q=0.5"}, jurisdiction="FR")
    assert response.headers["Content-Language"] == "de"


def test_locale_parameter_wins_over_accept_language(client):
    response = get(client, {"Accept-Language": "de"}, jurisdiction="FR", locale="fr")
    assert response.headers["Content-Language"] == "fr"
    assert response.get_json()["locale"] == "fr"


def test_unshipped_language_falls_back_to_english_and_says_so(client):
    # Amharic: no catalogue is shipped for it (ja is now, for Japan).
    response = get(client, {"Accept-Language": "am"}, jurisdiction="DE", age=30)
    assert response.headers["Content-Language"] == "en"
    assert response.get_json()["fallbacks"] == []


def test_language_region_falls_back_to_language(client):
    response = get(client, jurisdiction="FR", locale="fr-BE")
    assert response.headers["Content-Language"] == "fr"


@pytest.mark.parametrize(("asked", "served"), [("fr-CA", "fr-CA"), ("fr_ca", "fr-CA"), ("de-CH", "de-CH"),
                                                ("de-AT", "de"), ("en-GB", "en")])
def test_regional_locale_is_served_when_shipped(client, asked, served):
    response = get(client, jurisdiction="CA-QC", locale=asked)
    assert response.headers["Content-Language"] == served
    assert response.get_json()["locale"] == served


def test_regional_accept_language(client):
    response = get(client, {"Accept-Language": "fr-CA, fr;q=0.9"}, jurisdiction="CA-QC")
    assert response.headers["Content-Language"] == "fr-CA"


def test_words_never_silently_mix_languages(client):
    body = get(client, jurisdiction="DE", age=15, locale="de").get_json()
    flagged = set(body["fallbacks"])
    for kind in ("rights", "opt_outs", "notices"):
        for item in body[kind]:
            singular = {"rights": "right", "opt_outs": "opt_out", "notices": "notice"}[kind]
            assert (item.get("fallback_locale") == "en") == (f"{singular}.{item['id']}" in flagged)


# -- caching ------------------------------------------------------------------------------


def test_caching_headers(client):
    response = get(client, jurisdiction="DE", age=15)
    assert response.headers["Cache-Control"] == "private, max-age=300"
    vary = {v.strip() for v in response.headers["Vary"].split(",")}
    assert {"Accept-Language", "Sec-GPC"} <= vary
    assert response.headers["Content-Language"] == "en"
    etag = response.headers["ETag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    assert etag.strip('"').split("-")[0] == response.get_json()["ruleset"]["version"]


def test_etag_follows_the_normalised_request(client):
    def etag(**params):
        return get(client, as_of=DAY, **params).headers["ETag"]

    # Same input class -> same answer -> same ETag (ages 30 and 40 are both adults in DE).
    assert etag(jurisdiction="DE", age=30) == etag(jurisdiction="DE", age=40)
    assert etag(jurisdiction="DE", age=15) != etag(jurisdiction="DE", age=30)
    # The echoed `requested` differs, so the body and ETag differ.
    assert etag(jurisdiction="de", age=30) != etag(jurisdiction="DE", age=30)
    assert etag(jurisdiction="DE", age=30, locale="de") != etag(jurisdiction="DE", age=30)
    assert etag(jurisdiction="DE", age=30) != get(client, jurisdiction="DE", age=30,
                                                  as_of="2026-11-23").headers["ETag"]


@pytest.mark.parametrize("header", [
    "{etag}",
    'W/{etag}',
    '"nope", {etag}',
    '"nope",W/{etag} , "other"',
    "*",
])
def test_if_none_match_gives_304(client, header):
    first = get(client, jurisdiction="DE", age=15, as_of=DAY)
    etag = first.headers["ETag"]
    again = get(client, {"If-None-Match": header.format(etag=etag)}, jurisdiction="DE", age=15, as_of=DAY)
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == etag
    assert again.headers["Cache-Control"] == "private, max-age=300"
    assert "Accept-Language" in again.headers["Vary"]
    # RFC 9110 §15.4.5: a 304 carries validators and caching headers, not representation
    # metadata such as Content-Language (the cached copy has it).
    assert again.headers["X-Content-Type-Options"] == "nosniff"


def test_if_none_match_with_other_etag_gives_200(client):
    response = get(client, {"If-None-Match": '"264069904ab38589-0000"'}, jurisdiction="DE")
    assert response.status_code == 200


def test_if_none_match_on_post_is_412(client):
    first = post(client, {"jurisdiction": "DE", "as_of": DAY})
    response = post(client, {"jurisdiction": "DE", "as_of": DAY},
                    headers={"If-None-Match": first.headers["ETag"]})
    assert response.status_code == 412
    assert response.mimetype == "application/problem+json"


def test_head_has_headers_without_body(client):
    response = client.head("/v1/decision?jurisdiction=DE")
    assert response.status_code == 200
    assert response.data == b""
    assert response.headers["ETag"]


def test_repeat_requests_are_served_from_the_cache(app, client):
    cache = app.extensions["rightsgate"].serving.bodies
    get(client, jurisdiction="NL", age=21, as_of="2026-01-02")
    hits = cache.hits
    for age in (22, 23, 60):  # one input class: one entry
        get(client, jurisdiction="NL", age=age, as_of="2026-01-02")
    assert cache.hits == hits + 3


def test_response_schema_loses_nothing_the_engine_renders(app):
    """Every precomputed decision, rendered, survives the response schema unchanged."""
    from api.responses import DecisionSchema
    from engine.jurisdictions import Resolution
    from engine.render import render_decision

    active = app.extensions["rightsgate"].serving
    schema = DecisionSchema()
    tags = ["en", *[t for t in ("de", "fr") if t in active.localiser.locales]]
    count = 0
    # Every decision once, the languages taking turns: the schema sees every decision and
    # every language (a third of the renders of all decisions in all three).
    for code, table in active.snapshot.tables.items():
        for index, decision in enumerate(table.decisions.values()):
            tag = tags[(index + count) % len(tags)]
            resolution = Resolution(code.lower(), code, "country")
            body = render_decision(active.snapshot, active.localiser, decision, resolution, tag,
                                   decision.valid_from or date(2026, 1, 1), decision.gpc)
            assert schema.dump(body) == body, (code, tag)
            assert not schema.validate(body), (code, tag)
        count += len(table.decisions)
    assert count == len(active.snapshot.decisions())


def test_every_bad_field_is_reported_at_once(client):
    response = get(client, jurisdiction="U-K", age=13, birthdate="2013-02-30", gpc="maybe")
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert {e["field"] for e in errors} == {"jurisdiction", "age", "birthdate", "gpc"}
    assert any(e["message"] == "is not a real calendar date" for e in errors)
    posted = post(client, {"jurisdiction": "U-K", "age": "13", "colour": "red"})
    assert {e["field"] for e in posted.get_json()["errors"]} == {"jurisdiction", "age", "colour"}
    assert all(e["in"] == "body" for e in posted.get_json()["errors"])
