"""Every error is an RFC 9457 problem, every 4xx is clear, and nothing a client sends is a 500."""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.test import EnvironBuilder, run_wsgi_app

from api.problems import PROBLEM_BASE, PROBLEM_TYPES

SECURITY = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}


def assert_problem(response, status, slug=None, fields=None):
    assert response.status_code == status, response.data
    assert response.mimetype == "application/problem+json"
    problem = json.loads(response.data)
    assert set(problem) >= {"type", "title", "status", "detail", "instance", "errors"}
    assert problem["status"] == status
    if slug:
        assert problem["type"] == PROBLEM_BASE + slug
    assert isinstance(problem["errors"], list)
    for error in problem["errors"]:
        assert set(error) == {"field", "in", "message"}
    if fields is not None:
        assert {e["field"] for e in problem["errors"]} >= set(fields)
    assert "Traceback" not in response.data.decode()
    assert response.headers["Cache-Control"] == "no-store"
    for name, value in SECURITY.items():
        assert response.headers[name] == value
    return problem


def post_raw(client, data, content_type="application/json", **kwargs):
    return client.post("/v1/decision", data=data, content_type=content_type, **kwargs)


# -- body errors ------------------------------------------------------------------------


@pytest.mark.parametrize("body", [
    b"{", b"{'age': 13}", b"", b"   ", b"\xff\xfe{}", b"{\"age\": NaN}", b"{\"age\": Infinity}",
    b"[" * 20000, b"{\"a\":" * 5000, b'{"age": ' + b"9" * 5000 + b"}",
])
def test_malformed_json_is_400(client, body):
    assert_problem(post_raw(client, body), 400, "malformed-body")


@pytest.mark.parametrize("body", [b"[]", b"[{\"age\": 13}]", b"13", b"\"DE\"", b"null", b"true"])
def test_json_that_is_not_an_object_is_400(client, body):
    problem = assert_problem(post_raw(client, body), 400, "malformed-body")
    assert "JSON object" in problem["detail"]


def test_byte_order_mark_is_tolerated(client):
    response = post_raw(client, b"\xef\xbb\xbf" + json.dumps({"jurisdiction": "DE"}).encode())
    assert response.status_code == 200


def test_unknown_body_fields_are_422_naming_them(client):
    response = post_raw(client, json.dumps({"jurisdiction": "DE", "agee": 13, "country": "DE"}))
    problem = assert_problem(response, 422, "validation", {"agee", "country"})
    assert all(e["in"] == "body" for e in problem["errors"])


def test_duplicate_body_keys_are_422(client):
    response = post_raw(client, b'{"age": 13, "age": 40}')
    assert_problem(response, 422, "validation", {"age"})


def test_wrong_types_are_422(client):
    body = {"jurisdiction": 49, "age": "13", "birthdate": 20100101, "gpc": "yes", "locale": ["fr"],
            "as_of": {"y": 2026}}
    assert_problem(post_raw(client, json.dumps(body)), 422, "validation", set(body))


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", "application/xml", None])
def test_wrong_content_type_is_415(client, content_type):
    kwargs = {"content_type": content_type} if content_type else {}
    response = client.post("/v1/decision", data=b'{"age": 13}', **kwargs)
    problem = assert_problem(response, 415, "unsupported-media-type", {"Content-Type"})
    assert problem["errors"][0]["in"] == "header"
    assert response.headers["Accept-Post"] == "application/json"


def test_non_utf8_charset_is_415(client):
    response = client.post("/v1/decision", data=b"{}", content_type="application/json; charset=latin-1")
    assert_problem(response, 415, "unsupported-media-type")


def test_json_with_utf8_charset_is_fine(client):
    response = client.post("/v1/decision", data=b"{}", content_type="application/json; charset=UTF-8")
    assert response.status_code == 200


def test_body_over_the_limit_is_413(client):
    body = json.dumps({"jurisdiction": "DE", "pad": "x" * (2 * 1024 * 1024)})
    problem = assert_problem(post_raw(client, body), 413, "content-too-large")
    assert "65536" in problem["detail"]


def _chunked_post(app, body: bytes):
    """POST `body` with no Content-Length, as a chunked request reaches the app from gunicorn."""
    environ = EnvironBuilder(path="/v1/decision", method="POST", input_stream=io.BytesIO(body),
                             content_type="application/json").get_environ()
    del environ["CONTENT_LENGTH"]
    environ["HTTP_TRANSFER_ENCODING"] = "chunked"
    environ["wsgi.input_terminated"] = True  # what gunicorn sets after de-chunking
    app_iter, status, headers = run_wsgi_app(app, environ, buffered=True)
    return app.response_class(b"".join(app_iter), status=status, headers=headers)


def test_chunked_body_over_the_limit_is_413(app):
    """No Content-Length (chunked transfer): the limit still holds while reading."""
    response = _chunked_post(app, b'{"pad": "' + b"x" * (2 * 1024 * 1024) + b'"}')
    with app.test_request_context():
        assert_problem(response, 413, "content-too-large")


def test_chunked_body_under_the_limit_is_read(app):
    response = _chunked_post(app, json.dumps({"jurisdiction": "DE", "age": 30}).encode())
    assert response.status_code == 200
    assert json.loads(response.data)["age_gate"]["status"] == "allowed"


# -- query errors -----------------------------------------------------------------------


def test_unknown_query_parameters_are_422_naming_them(client):
    response = client.get("/v1/decision?jurisdiction=DE&country=DE&Age=13")
    problem = assert_problem(response, 422, "validation", {"country", "Age"})
    assert "jurisdiction, age" in problem["errors"][0]["message"]


def test_query_parameters_on_post_are_422(client):
    response = client.post("/v1/decision?age=13", json={"jurisdiction": "AT"})
    problem = assert_problem(response, 422, "validation", {"age"})
    assert problem["errors"][0]["in"] == "query"


def test_duplicate_query_parameters_are_422(client):
    response = client.get("/v1/decision?age=13&age=40")
    assert_problem(response, 422, "validation", {"age"})


def test_reference_endpoints_refuse_unknown_parameters(client):
    for path in ("/v1/jurisdictions", "/v1/catalog", "/v1/locales", "/healthz", "/openapi.json"):
        assert_problem(client.get(f"{path}?verbose=1"), 422, "validation", {"verbose"})


# -- routing errors ----------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/v1", "/v1/decision/", "/v2/decision", "/static/x.js",
                                  "/v1/decision%00", "/%ff%fe"])
def test_unknown_path_is_404(client, path):
    problem = assert_problem(client.get(path), 404, "not-found")
    assert problem["instance"]


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("DELETE", "/v1/decision", {"GET", "HEAD", "OPTIONS", "POST"}),
    ("PUT", "/v1/decision", {"GET", "HEAD", "OPTIONS", "POST"}),
    ("POST", "/v1/jurisdictions", {"GET", "HEAD", "OPTIONS"}),
    ("PATCH", "/healthz", {"GET", "HEAD", "OPTIONS"}),
    ("POST", "/openapi.json", {"GET", "HEAD", "OPTIONS"}),
])
def test_wrong_method_is_405_with_allow(client, method, path, allowed):
    response = client.open(path, method=method)
    assert_problem(response, 405, "method-not-allowed")
    assert {m.strip() for m in response.headers["Allow"].split(",")} == allowed


def test_accept_without_json_is_406(client):
    response = client.get("/v1/decision", headers={"Accept": "text/html"})
    assert_problem(response, 406, "not-acceptable")


@pytest.mark.parametrize("accept", ["application/json", "*/*", "application/*",
                                    "text/html,application/xhtml+xml,*/*;q=0.8",
                                    "application/problem+json"])
def test_accept_with_json_is_fine(client, accept):
    assert client.get("/v1/decision", headers={"Accept": accept}).status_code == 200


# -- no 500s ------------------------------------------------------------------------------


def test_internal_errors_are_500_problems_without_details(app, monkeypatch, caplog):
    from api.serving import Serving

    def explode(*args, **kwargs):
        raise RuntimeError("secret internal state /etc/passwd")

    # Every decision not answered from the memo (this request is asked nowhere else) is
    # looked up here, before any other cache is consulted, so this always fails.
    monkeypatch.setattr(Serving, "_decision", explode)
    client = app.test_client()
    response = client.get("/v1/decision?jurisdiction=LI&age=77")
    problem = assert_problem(response, 500, "internal")
    assert "secret" not in response.data.decode()
    assert "RuntimeError" not in response.data.decode()
    assert problem["errors"] == []


def test_debug_cannot_be_switched_on(monkeypatch, make_app, scratch_rules):
    monkeypatch.setenv("FLASK_DEBUG", "1")
    application = make_app(RIGHTSGATE_RULES_DIR=scratch_rules, RIGHTSGATE_RELOAD_INTERVAL=0,
                           DEBUG=True)
    assert application.debug is False
    application.debug = True
    assert application.debug is False
    assert application.config["DEBUG"] is False


def test_flask_debug_server_is_refused(monkeypatch, scratch_rules):
    from api import create_app
    from api.config import ConfigError

    monkeypatch.setenv("FLASK_RUN_FROM_CLI", "true")  # what `flask --debug run` sets
    monkeypatch.setenv("FLASK_DEBUG", "1")
    with pytest.raises(ConfigError, match="debug"):
        create_app({"RIGHTSGATE_RULES_DIR": scratch_rules, "RIGHTSGATE_RELOAD_INTERVAL": 0})


def test_compressed_bodies_are_415(client):
    response = client.post("/v1/decision", data=b"\x1f\x8b...", content_type="application/json",
                           headers={"Content-Encoding": "gzip"})
    assert_problem(response, 415, "unsupported-media-type", {"Content-Encoding"})


@pytest.mark.parametrize(("size", "status"), [(64 * 1024, 200), (64 * 1024 + 1, 413)])
def test_the_limit_is_exactly_64_kib(app, client, size, status):
    body = b'{"jurisdiction": "DE"}'
    body = body + b" " * (size - len(body))
    assert post_raw(client, body).status_code == status
    assert _chunked_post(app, body).status_code == status


WEIRD_TEXT = st.one_of(
    st.text(max_size=80),
    st.sampled_from(["\x00", "DE\x00", "９", "١٣", "13\n", "ＤＥ", "💥", "-0", "0x10", "1e3", "None",
                     "null", "[]", "{}", "2024-02-29T00:00", "9999-12-31", "0001-01-01", "%00",
                     "California\u202e", "e" * 10000]),
)
QUERY_KEYS = st.sampled_from(["jurisdiction", "age", "birthdate", "gpc", "locale", "as_of", "context",
                              "x", ""])
JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), WEIRD_TEXT),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner,
                                                                         max_size=3)),
    max_leaves=8,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(params=st.lists(st.tuples(QUERY_KEYS, WEIRD_TEXT), max_size=5),
       headers=st.dictionaries(st.sampled_from(["Accept-Language", "Sec-GPC", "If-None-Match",
                                                "Accept", "Origin"]),
                               st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126),
                                       max_size=60), max_size=4))
def test_no_query_can_cause_a_500(app, params, headers):
    response = app.test_client().get("/v1/decision", query_string=params, headers=headers)
    assert response.status_code in (200, 304, 406, 422), response.data
    if response.status_code >= 400:
        assert_problem(response, response.status_code)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.one_of(
    st.dictionaries(st.sampled_from(["jurisdiction", "age", "birthdate", "gpc", "locale", "as_of",
                                     "context"]),
                    JSON_VALUES, max_size=7),
    JSON_VALUES,
))
def test_no_body_can_cause_a_500(app, body):
    response = post_raw(app.test_client(), json.dumps(body))
    assert response.status_code in (200, 400, 422), response.data
    if response.status_code >= 400:
        assert_problem(response, response.status_code)


# -- dates before every law of the place --------------------------------------------------


@pytest.mark.parametrize(("jurisdiction", "as_of", "earliest"), [
    ("DE", "2017-01-01", "2018-05-25"),  # the GDPR applies from 25 May 2018
    ("DE", "2018-05-24", "2018-05-25"),
    ("EU", "2000-01-01", "2018-05-25"),
    ("re", "2018-05-24", "2018-05-25"),  # Réunion is France
    ("UK", "2018-01-01", "2018-05-25"),
    ("CH", "1993-06-30", "1993-07-01"),
    ("CA", "2000-12-31", "2001-01-01"),
    ("CA-ON", "2000-12-31", "2001-01-01"),  # Ontario is PIPEDA's
    ("CA-AB", "2003-12-31", "2004-01-01"),
])
def test_as_of_before_the_place_is_modelled_is_422_naming_the_earliest_day(client, jurisdiction, as_of,
                                                                            earliest):
    for response in (client.get("/v1/decision", query_string={"jurisdiction": jurisdiction, "as_of": as_of}),
                     post_raw(client, json.dumps({"jurisdiction": jurisdiction, "as_of": as_of,
                                                  "age": 30}))):
        problem = assert_problem(response, 422, "validation", ["as_of"])
        messages = [e["message"] for e in problem["errors"] if e["field"] == "as_of"]
        assert len(messages) == 1 and earliest in messages[0], messages
    on_the_day = client.get("/v1/decision", query_string={"jurisdiction": jurisdiction, "as_of": earliest})
    assert on_the_day.status_code == 200


@pytest.mark.parametrize("jurisdiction", ["US", "US-TX", "BR", "ZZ", None])
def test_places_with_the_baseline_answer_any_day(client, jurisdiction):
    """Where the DEFAULT baseline answers before the place's own law, every day is modelled."""
    query = {"as_of": "1980-01-01"} | ({"jurisdiction": jurisdiction} if jurisdiction else {})
    assert client.get("/v1/decision", query_string=query).status_code == 200


def test_problem_types_are_documented_uris():
    for ptype in PROBLEM_TYPES.values():
        assert ptype.uri.startswith("https://rightsgate.dev/problems/")
        assert 400 <= ptype.status < 600
        assert ptype.title and ptype.description
