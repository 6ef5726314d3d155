"""Reference endpoints, /healthz, /openapi.json, security headers, CORS and the CLI."""

from __future__ import annotations

import hashlib
import json

import pytest
from openapi_spec_validator import validate

from api.spec import build_spec

from ..conftest import REPO_ROOT, RULES_DIR

# The 50 states and DC (legal-reference-us.md), and the 24 countries of legal-reference-world.md.
US_STATES = [f"US-{s}" for s in (
    "AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ "
    "NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC").split()]
WORLD_COUNTRIES = ("BR IN AU JP KR CN SG NZ ZA MX AR CL CO IL TR SA AE NG KE ID TH PH VN MY").split()

SECURITY = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}


# -- /v1/jurisdictions ------------------------------------------------------------------


def test_jurisdictions_lists_every_code_with_localised_names(app, client):
    response = client.get("/v1/jurisdictions", headers={"Accept-Language": "de"})
    assert response.status_code == 200
    assert response.headers["Content-Language"] == "de"
    assert response.headers["Cache-Control"].startswith("public, max-age=")
    body = response.get_json()
    ruleset = app.extensions["rightsgate"].serving.snapshot.ruleset
    by_code = {j["code"]: j for j in body["jurisdictions"]}
    assert set(by_code) == set(ruleset.jurisdictions)
    assert by_code["DE"]["name"] == "Deutschland"
    assert by_code["DE"]["english_name"] == "Germany"
    assert by_code["DE"]["frameworks"] == ["gdpr", "dsa"]  # the DSA is EU law
    assert by_code["IS"]["frameworks"] == ["gdpr"]  # EEA EFTA: the DSA is not incorporated (yet)
    assert by_code["DE"]["parent"] == "EEA"
    assert by_code["DE"]["authority"]["url"].startswith("https://")
    assert by_code["GB"]["aliases"] == ["UK"]
    assert by_code["CA"]["frameworks"] == ["pipeda"]
    assert by_code["US-CA"]["parent"] == "US"
    assert by_code["DEFAULT"]["authority"] is None
    # The United States is modelled: the federal baseline, and every state under its own code.
    us = by_code["US"]
    assert (us["kind"], us["parent"], us["modelled"]) == ("country", None, True)
    assert by_code["US"]["frameworks"] == ["default", "coppa", "ferpa"]
    assert set(US_STATES) <= set(by_code)
    assert by_code["US-TX"]["frameworks"] == ["tdpsa", "default", "coppa", "ferpa"]
    assert by_code["US-TX"]["path"] == ["US", "US-TX"]
    assert by_code["US-AK"]["frameworks"] == ["default", "coppa", "ferpa"]  # no state law
    assert by_code["US-AK"]["authority"] is None
    assert set(WORLD_COUNTRIES) <= set(by_code)
    for code in WORLD_COUNTRIES:
        assert by_code[code]["kind"] == "country" and by_code[code]["modelled"] is True, code
        assert "default" in by_code[code]["frameworks"], code  # the baseline before the law starts
    assert by_code["BR"]["frameworks"] == ["lgpd", "default"]
    assert by_code["CA-AB"]["parent"] == by_code["CA-BC"]["parent"] == "CA"
    assert body["aliases"]["UK"] == "GB"
    assert body["aliases"]["EL"] == "GR"
    assert body["ruleset"]["version"] == app.extensions["rightsgate"].serving.snapshot.version


def test_jurisdictions_locale_parameter(client):
    body = client.get("/v1/jurisdictions?locale=fr").get_json()
    assert body["locale"] == "fr"
    assert {j["code"]: j["name"] for j in body["jurisdictions"]}["DE"] == "Allemagne"


# -- /v1/catalog ---------------------------------------------------------------------------


def test_catalog_has_every_id_with_title_and_text(app, client):
    body = client.get("/v1/catalog").get_json()
    catalog = app.extensions["rightsgate"].serving.snapshot.ruleset.catalog
    assert {(e["kind"], e["id"]) for e in body["entries"]} == set(catalog)
    kinds = {e["kind"] for e in body["entries"]}
    # `wording`: a law's own word for an item (a state's "sale of personal data").
    assert kinds == {"age_gate", "right", "opt_out", "notice", "framework", "wording"}
    for entry in body["entries"]:
        assert entry["title"]
        if entry["kind"] != "framework":
            assert entry["text"]
    ids = {e["id"] for e in body["entries"] if e["kind"] == "right"}
    assert {"access", "erasure", "complain", "opt_out_sale_sharing"} <= ids
    # The right ids round 2 and the US and world rules brought (README "What comes back").
    assert {"appeal", "know_third_parties", "contest_profiling", "opt_out_targeted_advertising",
            "opt_out_profiling", "anonymisation_blocking", "information_about_sharing",
            "nomination"} <= ids
    frameworks = {e["id"] for e in body["entries"] if e["kind"] == "framework"}
    assert {"dsa", "coppa", "ferpa", "tdpsa", "lgpd", "pipl", "th_pdpa"} <= frameworks
    notices = {e["id"] for e in body["entries"] if e["kind"] == "notice"}
    assert {"gpc_status", "school_consent", "parental_consent"} <= notices


def test_catalog_localised(client):
    english = {(e["kind"], e["id"]): e for e in client.get("/v1/catalog").get_json()["entries"]}
    german = client.get("/v1/catalog?locale=de").get_json()
    assert german["locale"] == "de"
    translated = [e for e in german["entries"] if "fallback_locale" not in e
                  and e["title"] != english[(e["kind"], e["id"])]["title"]]
    assert translated, "no German catalogue entry differs from English"
    assert len(german["fallbacks"]) == sum(1 for e in german["entries"] if "fallback_locale" in e)


# -- /v1/locales ---------------------------------------------------------------------------


def test_locales_lists_every_shipped_locale(app, client):
    response = client.get("/v1/locales", headers={"Accept-Language": "fr"})
    body = response.get_json()
    localiser = app.extensions["rightsgate"].serving.localiser
    assert body["locale"] == "fr"
    assert body["default"] == "en"
    by_tag = {entry["tag"]: entry for entry in body["locales"]}
    assert set(by_tag) == set(localiser.locales)
    assert by_tag["en"]["source"] is True
    assert by_tag["en"]["completeness"] == 100.0
    assert by_tag["de"]["native_name"] == "Deutsch"
    assert by_tag["de"]["name"] == "allemand"
    for entry in body["locales"]:
        assert 0 <= entry["completeness"] <= 100
        assert entry["review_status"]


# -- /healthz --------------------------------------------------------------------------


def test_healthz(app, client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    snapshot = app.extensions["rightsgate"].serving.snapshot
    assert body["status"] == "ok"
    assert body["ruleset"]["version"] == snapshot.version
    # The files the set was built from, by relative name and digest (issue 15, finding 4).
    files = {f["name"]: f["sha256"] for f in body["ruleset"]["files"]}
    assert {"catalog.yaml", "policy.yaml", "jurisdictions.yaml", "frameworks/gdpr.yaml"} <= set(files)
    assert files["policy.yaml"] == hashlib.sha256((RULES_DIR / "policy.yaml").read_bytes()).hexdigest()
    assert body["ruleset"]["origin"] == "files"
    # No absolute path anywhere: they tell a stranger how the host is laid out (finding 8).
    assert str(REPO_ROOT) not in response.get_data(as_text=True)
    assert '"/' not in response.get_data(as_text=True)
    assert body["ruleset"]["load_seconds"] > 0
    assert body["ruleset"]["loaded_at"].endswith("Z")
    assert body["reload"]["last_error"] is None
    assert body["reload"]["interval_seconds"] == 0


# -- /openapi.json ---------------------------------------------------------------------


def test_openapi_document_validates(client):
    response = client.get("/openapi.json")
    assert response.status_code == 200
    document = json.loads(response.data)
    validate(document)
    assert document["openapi"].startswith("3.")
    again = client.get("/openapi.json", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_every_route_is_documented(app):
    document = build_spec()
    served = {(rule.rule, method.lower()) for rule in app.url_map.iter_rules()
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    documented = {(path, method) for path, ops in document["paths"].items() for method in ops}
    assert served == documented


def test_documented_parameters_match_the_schemas():
    document = build_spec()
    get = document["paths"]["/v1/decision"]["get"]
    query = {p["name"] for p in get["parameters"] if p["in"] == "query"}
    headers = {p["name"] for p in get["parameters"] if p["in"] == "header"}
    assert query == {"jurisdiction", "age", "birthdate", "gpc", "locale", "as_of", "context", "version"}
    assert headers == {"Sec-GPC", "Accept-Language", "If-None-Match"}
    body = document["components"]["schemas"]["DecisionRequest"]
    assert set(body["properties"]) == query
    assert body["additionalProperties"] is False
    post = document["paths"]["/v1/decision"]["post"]
    assert {"200", "400", "406", "412", "413", "415", "422", "500"} <= set(post["responses"])
    for name in ("NotFound", "MethodNotAllowed"):
        assert name in document["components"]["responses"]


def test_the_round_2_inputs_and_outputs_are_documented():
    """context in and out, territory matches, prohibited items and who consents."""
    document = build_spec()
    schemas = document["components"]["schemas"]
    get = document["paths"]["/v1/decision"]["get"]
    (context,) = [p for p in get["parameters"] if p["name"] == "context"]
    assert context["in"] == "query" and context["required"] is False
    assert context["schema"]["enum"] == ["consumer", "school"]
    request_context = schemas["DecisionRequest"]["properties"]["context"]["enum"]
    assert [v for v in request_context if v] == ["consumer", "school"]
    assert "context" in schemas["Decision"]["required"]
    assert schemas["Decision"]["properties"]["context"]["enum"] == ["consumer", "school"]
    assert "territory" in schemas["Jurisdiction"]["properties"]["matched"]["enum"]
    assert set(schemas["OptOut"]["properties"]["mechanism"]["enum"]) == {"opt_in", "opt_out", "prohibited"}
    assert set(schemas["OptOut"]["properties"]["consent_by"]["enum"]) == {
        "person", "parent", "parent_and_child", "school"}
    assert set(schemas["AgeGate"]["properties"]["consent_by"]["enum"]) == {
        "parent", "parent_and_child", "school"}
    assert "policy" in schemas["OptOut"]["properties"]["consent_basis"]["enum"]
    # /v1/catalog serves `wording` entries (a law's own word): the document must allow them.
    assert set(schemas["CatalogEntry"]["properties"]["kind"]["enum"]) >= {
        "age_gate", "right", "opt_out", "notice", "framework", "wording"}
    assert "422" in get["responses"]  # as_of before the place is modelled


def test_documented_response_matches_a_real_response(client):
    """Every required member of the documented Decision is in a real answer, and vice versa."""
    document = build_spec()
    schemas = document["components"]["schemas"]
    decision = schemas["Decision"]
    for query in ("jurisdiction=DE&age=15", "jurisdiction=US&age=10&context=school&gpc=1",
                  "jurisdiction=re&age=14"):
        body = client.get(f"/v1/decision?{query}").get_json()
        assert set(decision["required"]) <= set(body), query
        assert set(body) <= set(decision["properties"]), query


# -- headers on every response -----------------------------------------------------------


@pytest.mark.parametrize("path", ["/v1/decision", "/v1/jurisdictions", "/v1/catalog", "/v1/locales",
                                  "/v1/ui-strings", "/v1/component", "/v1/component/rightsgate-panel.js",
                                  "/healthz", "/openapi.json", "/nowhere"])
def test_security_headers_everywhere(client, path):
    for response in (client.get(path), client.options(path)):
        for name, value in SECURITY.items():
            assert response.headers[name] == value, (path, name)


def test_cors_is_closed_by_default(client):
    response = client.get("/v1/decision", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in response.headers
    preflight = client.options("/v1/decision", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in preflight.headers


def test_cors_allow_list(make_app, scratch_rules):
    application = make_app(RIGHTSGATE_RULES_DIR=scratch_rules, RIGHTSGATE_RELOAD_INTERVAL=0,
                           RIGHTSGATE_CORS_ORIGINS="https://app.example, https://admin.example")
    client = application.test_client()
    preflight = client.options("/v1/decision", headers={
        "Origin": "https://app.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, sec-gpc"})
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://app.example"
    allowed = {h.strip().lower() for h in preflight.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"sec-gpc", "content-type", "if-none-match"} <= allowed
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "Origin" in preflight.headers["Vary"]

    response = client.get("/v1/decision?jurisdiction=DE", headers={"Origin": "https://app.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "https://app.example"
    exposed = {h.strip() for h in response.headers["Access-Control-Expose-Headers"].split(",")}
    assert {"ETag", "Content-Language"} <= exposed
    assert "Origin" in response.headers["Vary"]

    other = client.get("/v1/decision", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    refused = client.options("/v1/decision", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in refused.headers
    error = client.get("/v1/decision?age=x", headers={"Origin": "https://app.example"})
    assert error.status_code == 422
    assert error.headers["Access-Control-Allow-Origin"] == "https://app.example"


def test_bad_settings_stop_the_app(make_app, scratch_rules):
    from api.config import ConfigError

    for bad in ({"RIGHTSGATE_RELOAD_INTERVAL": "soon"}, {"RIGHTSGATE_CORS_ORIGINS": "app.example"},
                {"RIGHTSGATE_CACHE_SIZE": -1}):
        with pytest.raises(ConfigError):
            make_app(RIGHTSGATE_RULES_DIR=scratch_rules, **bad)


# -- CLI ----------------------------------------------------------------------------------


def test_cli_prints_the_openapi_document(runner):
    result = runner.invoke(args=["openapi"])
    assert result.exit_code == 0
    validate(json.loads(result.output))


def test_cli_check_rules(app, runner):
    result = runner.invoke(args=["check-rules"])
    assert result.exit_code == 0
    assert app.extensions["rightsgate"].serving.snapshot.version in result.output
