"""Where is the person: a request without `jurisdiction` located by a trusted edge's headers.

Off by default (no header is ever read); with RIGHTSGATE_TRUSTED_GEO_HEADERS naming one
edge, only that edge's pair locates the request, on every path (GET fast path, GET
schema path, POST fast body, POST schema body, and the WSGI front's memo), the answer
says `matched: edge_header` and varies on the two headers, and an unlocated request
is a 422 naming `jurisdiction`.
"""

from __future__ import annotations

import pytest

from api.config import ConfigError, load_settings
from api.geo import EDGES

CF = {"country": "CF-IPCountry", "region": "CF-Region-Code"}
CF_VARY = "Accept-Language, Sec-GPC, CF-IPCountry, CF-Region-Code"


@pytest.fixture(scope="module")
def cloudflare(module_app):
    return module_app(RIGHTSGATE_TRUSTED_GEO_HEADERS="cloudflare")


@pytest.fixture
def cf(cloudflare):
    return cloudflare.test_client()


def _cf(country: str | None, region: str | None = None) -> dict[str, str]:
    headers = {}
    if country is not None:
        headers[CF["country"]] = country
    if region is not None:
        headers[CF["region"]] = region
    return headers


def _errors(response) -> dict[str, dict]:
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    assert response.headers["Cache-Control"] == "no-store"
    return {e["field"]: e for e in response.get_json()["errors"]}


# -- off by default -------------------------------------------------------------------


def test_no_header_is_trusted_by_default(client):
    response = client.get("/v1/decision", headers={**_cf("US", "CA"), "CloudFront-Viewer-Country": "US",
                                                   "X-Vercel-IP-Country": "US"})
    body = response.get_json()
    assert (body["jurisdiction"]["code"], body["jurisdiction"]["matched"]) == ("DEFAULT", "default")
    assert response.headers["Vary"] == "Accept-Language, Sec-GPC"


def test_the_setting_names_one_edge_or_off():
    assert load_settings(environ={})["RIGHTSGATE_TRUSTED_GEO_HEADERS"] is None
    for value in ("", "off", "OFF", " none "):
        assert load_settings(environ={"RIGHTSGATE_TRUSTED_GEO_HEADERS": value})[
            "RIGHTSGATE_TRUSTED_GEO_HEADERS"] is None
    for name, geo in EDGES.items():
        assert load_settings(environ={"RIGHTSGATE_TRUSTED_GEO_HEADERS": f" {name.upper()} "})[
            "RIGHTSGATE_TRUSTED_GEO_HEADERS"] is geo
    for bad in ("akamai", "cloudflare,vercel", "yes"):
        with pytest.raises(ConfigError, match="RIGHTSGATE_TRUSTED_GEO_HEADERS"):
            load_settings(environ={"RIGHTSGATE_TRUSTED_GEO_HEADERS": bad})


# -- located -----------------------------------------------------------------------------


@pytest.mark.parametrize(("country", "region", "code"), [
    ("US", "CA", "US-CA"),
    ("us", "ca", "US-CA"),  # case as it comes
    ("US", "US-CA", "US-CA"),  # the whole ISO 3166-2 code
    ("US", "TX", "US-TX"),
    ("CA", "QC", "CA-QC"),
    ("CA", "ON", "CA"),  # not modelled on its own: the country
    ("US", None, "US"),
    ("DE", "BY", "DE"),
    ("GB", "ENG", "GB"),
    ("PR", None, "US"),  # a territory: its state
    ("RE", None, "FR"),
    ("ZW", None, "DEFAULT"),  # not modelled: the DEFAULT regime, still located by the edge
    (" FR ", " ", "FR"),
])
def test_the_edge_headers_locate_a_request_without_jurisdiction(cf, country, region, code):
    response = cf.get("/v1/decision", headers=_cf(country, region))
    assert response.status_code == 200, response.get_data(as_text=True)
    jurisdiction = response.get_json()["jurisdiction"]
    assert jurisdiction["code"] == code
    assert jurisdiction["matched"] == "edge_header"
    assert jurisdiction["requested"] is None
    assert response.headers["Vary"] == CF_VARY


def test_a_located_answer_is_the_named_places_answer_but_for_matched_and_requested(cf):
    located = cf.get("/v1/decision?gpc=1", headers={**_cf("US", "CA"), "Accept-Language": "fr-CA"})
    named = cf.get("/v1/decision?gpc=1&jurisdiction=US-CA", headers={"Accept-Language": "fr-CA"})
    a, b = located.get_json(), named.get_json()
    assert a["jurisdiction"].pop("matched") == "edge_header"
    assert b["jurisdiction"].pop("matched") == "subdivision"
    assert a["jurisdiction"].pop("requested") is None
    assert b["jurisdiction"].pop("requested") == "US-CA"
    assert a == b
    assert located.headers["ETag"] != named.headers["ETag"]


def test_a_named_jurisdiction_wins_over_the_edge_and_does_not_vary_on_it(cf):
    for query in ("jurisdiction=DE", "jurisdiction=de&gpc=1", "jurisdiction=%44E"):
        response = cf.get(f"/v1/decision?{query}", headers=_cf("US", "CA"))
        body = response.get_json()
        assert (body["jurisdiction"]["code"], body["jurisdiction"]["matched"]) == ("DE", "country")
        assert response.headers["Vary"] == "Accept-Language, Sec-GPC"
    response = cf.post("/v1/decision", json={"jurisdiction": "AT"}, headers=_cf("US", "CA"))
    assert response.get_json()["jurisdiction"]["code"] == "AT"
    assert response.headers["Vary"] == "Accept-Language, Sec-GPC"


@pytest.mark.parametrize("edge", ["cloudfront", "vercel"])
def test_each_edge_reads_its_own_pair_and_no_other(module_app, edge):
    client = module_app(RIGHTSGATE_TRUSTED_GEO_HEADERS=edge).test_client()
    geo = EDGES[edge]
    response = client.get("/v1/decision", headers={geo.country: "CA", geo.region: "QC"})
    assert response.get_json()["jurisdiction"]["code"] == "CA-QC"
    assert response.get_json()["jurisdiction"]["matched"] == "edge_header"
    assert response.headers["Vary"] == f"Accept-Language, Sec-GPC, {geo.country}, {geo.region}"
    # Another edge's headers are just headers a client could have sent: never read.
    others = {h: v for name, g in EDGES.items() if name != edge
              for h, v in ((g.country, "US"), (g.region, "CA"))}
    errors = _errors(client.get("/v1/decision", headers=others))
    assert geo.country in errors["jurisdiction"]["message"]


# -- every request path honours it ----------------------------------------------------------


def test_get_fast_path_and_schema_path_both_locate(cloudflare):
    serving = cloudflare.extensions["rightsgate"].serving
    headers = {"HTTP_CF_IPCOUNTRY": "CA", "HTTP_CF_REGION_CODE": "QC"}
    before = serving.stats()
    fast = serving.decide_query(b"gpc=1&locale=fr", None, None, edge=serving.edge_input(0, b"gpc=1", headers))
    # `%31` is "1" percent-encoded: the fast path declines, the schemas answer.
    slow = serving.decide_query(b"gpc=%31&locale=fr", None, None,
                                edge=serving.edge_input(0, b"gpc=%31", headers))
    after = serving.stats()
    assert after["fast_path"] == before["fast_path"] + 1
    assert after["schema_path"] == before["schema_path"] + 1
    assert fast.body == slow.body and fast.etag == slow.etag
    assert b'"matched":"edge_header"' in fast.body and b'"code":"CA-QC"' in fast.body


@pytest.mark.parametrize("query", ["", "jurisdiction=", "jurisdiction=%20", "age=&jurisdiction="])
def test_an_empty_jurisdiction_counts_as_missing(cf, query):
    response = cf.get(f"/v1/decision?{query}", headers=_cf("CA", "QC"))
    assert response.get_json()["jurisdiction"]["code"] == "CA-QC"


@pytest.mark.parametrize("body", [{}, {"jurisdiction": None}, {"jurisdiction": ""}, {"jurisdiction": " "},
                                  {"gpc": True, "locale": "fr-CA"}])
def test_post_bodies_are_located_too(cloudflare, body):
    serving = cloudflare.extensions["rightsgate"].serving
    before = serving.stats()
    response = cloudflare.test_client().post("/v1/decision", json=body, headers=_cf("US", "CA"))
    after = serving.stats()
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["jurisdiction"]["code"] == "US-CA"
    assert response.get_json()["jurisdiction"]["matched"] == "edge_header"
    assert response.headers["Vary"] == CF_VARY
    # `""` goes through the schemas, the rest through the fast path (or the memo): both locate.
    assert after["fast_path"] + after["schema_path"] + after["memo_hits"] > (
        before["fast_path"] + before["schema_path"] + before["memo_hits"])


def test_the_memo_and_the_front_keep_edge_answers_apart(cloudflare):
    client = cloudflare.test_client()
    serving = cloudflare.extensions["rightsgate"].serving
    codes = []
    for country, region in (("US", "CA"), ("DE", None), ("US", "CA"), ("DE", None), ("CA", "QC")):
        hits = serving.answers.hits
        response = client.get("/v1/decision?locale=de", headers=_cf(country, region))
        codes.append((response.get_json()["jurisdiction"]["code"], serving.answers.hits - hits))
    # The repeats are answered from the memo (by the front), each with its own place.
    assert codes == [("US-CA", 0), ("DE", 0), ("US-CA", 1), ("DE", 1), ("CA-QC", 0)]
    for _ in range(2):
        post = client.post("/v1/decision", data=b'{"locale": "de"}', content_type="application/json",
                           headers=_cf("CA", "QC"))
        assert post.get_json()["jurisdiction"]["code"] == "CA-QC"
    post = client.post("/v1/decision", data=b'{"locale": "de"}', content_type="application/json",
                       headers=_cf("US", "CA"))
    assert post.get_json()["jurisdiction"]["code"] == "US-CA"


def test_a_located_answer_is_revalidated_with_its_etag(cf):
    first = cf.get("/v1/decision", headers=_cf("US", "CA"))
    again = cf.get("/v1/decision", headers={**_cf("US", "CA"), "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert again.headers["Vary"] == CF_VARY
    assert again.headers["Cache-Control"] == first.headers["Cache-Control"]
    elsewhere = cf.get("/v1/decision", headers={**_cf("US", "TX"), "If-None-Match": first.headers["ETag"]})
    assert elsewhere.status_code == 200
    assert elsewhere.get_json()["jurisdiction"]["code"] == "US-TX"


# -- not located ------------------------------------------------------------------------------


@pytest.mark.parametrize(("headers", "says"), [
    ({}, "no CF-IPCountry header"),
    (_cf(None, "CA"), "no CF-IPCountry header"),
    (_cf(""), "no CF-IPCountry header"),
    (_cf("XX"), "CF-IPCountry: XX, unknown location"),
    (_cf("T1", "CA"), "CF-IPCountry: T1, a Tor exit node"),
    (_cf("xx"), "CF-IPCountry: XX"),
])
def test_an_unlocated_request_is_a_422_naming_jurisdiction(cf, headers, says):
    for response in (cf.get("/v1/decision?gpc=1", headers=headers),
                     cf.post("/v1/decision", json={"gpc": True}, headers=headers)):
        errors = _errors(response)
        assert list(errors) == ["jurisdiction"]
        assert says in errors["jurisdiction"]["message"]
        assert errors["jurisdiction"]["message"].endswith("send jurisdiction")
        assert errors["jurisdiction"]["in"] == ("query" if response.request.method == "GET" else "body")


@pytest.mark.parametrize(("headers", "bad"), [
    (_cf("USA"), "CF-IPCountry"),
    (_cf("U1"), "CF-IPCountry"),
    (_cf("DE;drop"), "CF-IPCountry"),
    (_cf("US", "CALI"), "CF-Region-Code"),
    (_cf("US", "C-A"), "CF-Region-Code"),
])
def test_a_malformed_edge_header_is_named_too(cf, headers, bad):
    errors = _errors(cf.get("/v1/decision", headers=headers))
    assert set(errors) == {"jurisdiction", bad}
    assert errors[bad]["in"] == "header"
    # The value is not echoed: it is whatever reached the service.
    for value in headers.values():
        if len(value) > 2:
            assert value not in str(errors)


def test_other_errors_are_still_reported_with_the_edge_on(cf):
    errors = _errors(cf.get("/v1/decision?age=200", headers=_cf("US", "CA")))
    assert list(errors) == ["age"]


def test_the_openapi_document_lists_edge_header():
    from api.spec import build_spec

    spec = build_spec()
    matched = spec["components"]["schemas"]["Jurisdiction"]["properties"]["matched"]
    assert "edge_header" in matched["enum"]
    assert "CF-IPCountry" in spec["paths"]["/v1/decision"]["get"]["description"]
