"""The WSGI front answers remembered decisions with exactly the Flask path's bytes and headers.

Each request is first sent through the whole app (so the Serving remembers it), then
twice more: once to the front, once straight to the Flask app behind it. Status,
every header (in order) and the body must be identical, 200 and 304, GET and POST.
Also: the HTTP version and Host checks (both paths), OPTIONS, and /openapi.json's Vary.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from werkzeug.test import EnvironBuilder

from api.front import Front

from ..conftest import RULES_DIR


def _front(app) -> Front:
    front = app.wsgi_app  # Front(Flask's own wsgi_app)
    assert isinstance(front, Front)
    return front


def _call(wsgi: Callable, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list, exc_info: Any = None) -> None:
        seen["status"], seen["headers"] = status, list(headers)

    result = wsgi(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    return seen["status"], seen["headers"], body


def _environ(method: str, query: str = "", body: bytes | None = None, **headers: str) -> dict[str, Any]:
    builder = EnvironBuilder(path="/v1/decision", method=method, query_string=query, data=body,
                             headers=headers, content_type="application/json" if body is not None else None)
    return builder.get_environ()


REQUESTS = [
    ("GET", "jurisdiction=DE&age=15", None, {}),
    ("GET", "jurisdiction=US-CA", None, {"Sec-GPC": "1", "Accept-Language": "fr-CA, fr;q=0.8"}),
    ("GET", "jurisdiction=at&birthdate=2013-05-01&as_of=2026-01-01", None, {"Accept": "application/json"}),
    ("POST", "", b'{"jurisdiction": "AT", "age": 13}', {}),
    ("POST", "", b'{"jurisdiction": "GB", "birthdate": "2012-01-01"}', {"Accept-Language": "de"}),
]


@pytest.mark.parametrize(("method", "query", "body", "headers"), REQUESTS)
def test_front_and_flask_send_the_same_bytes_and_headers(app, method, query, body, headers):
    front = _front(app)
    serving = app.extensions["rightsgate"].serving
    _call(app.wsgi_app, _environ(method, query, body, **headers))  # the whole app: now remembered

    calls: list[int] = []
    flask_app = front.app

    def spy(environ: dict, start_response: Callable) -> Any:
        calls.append(1)
        return flask_app(environ, start_response)

    front.app = spy
    try:
        hits = serving.answers.hits
        by_front = _call(front, _environ(method, query, body, **headers))
        assert not calls, "the front passed a remembered request on to Flask"
        assert serving.answers.hits == hits + 1
        by_flask = _call(flask_app, _environ(method, query, body, **headers))
        assert by_front == by_flask
        assert by_front[0] == "200 OK"
        if method == "GET":  # and the conditional answer
            etag = dict(by_front[1])["ETag"]
            not_modified = _call(front, _environ(method, query, body, **headers, **{"If-None-Match": etag}))
            assert not calls
            flask_304 = _call(flask_app, _environ(method, query, body, **headers,
                                                  **{"If-None-Match": etag}))
            assert not_modified == flask_304
            assert not_modified[0].startswith("304") and not_modified[2] == b""
    finally:
        front.app = flask_app


def test_front_leaves_unusual_requests_to_flask(app, client):
    front = _front(app)
    client.post("/v1/decision", json={"jurisdiction": "DE", "age": 30})  # remembered
    body = json.dumps({"jurisdiction": "DE", "age": 30}).encode()
    calls: list[str] = []
    flask_app = front.app

    def spy(environ: dict, start_response: Callable) -> Any:
        calls.append(environ["REQUEST_METHOD"])
        return flask_app(environ, start_response)

    front.app = spy
    try:
        # A matching If-None-Match on POST is Flask's 412 problem; the body is handed on intact.
        etag = client.post("/v1/decision", json={"jurisdiction": "DE", "age": 30}).headers["ETag"]
        status, headers, _data = _call(front, _environ("POST", "", body, **{"If-None-Match": etag}))
        assert status.startswith("412") and calls == ["POST"]
        assert dict(headers)["Content-Type"] == "application/problem+json"
        # An Accept header that needs negotiating goes to Flask (406 here).
        status, _, _ = _call(front, _environ("GET", "jurisdiction=DE&age=30", None, Accept="text/html"))
        assert status.startswith("406") and calls[-1] == "GET"
    finally:
        front.app = flask_app


def test_log_line_is_the_same_for_the_front(app, client, capsys):
    client.get("/v1/decision?jurisdiction=NL&age=40")
    capsys.readouterr()
    client.get("/v1/decision?jurisdiction=NL&age=40")  # answered by the front
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert (line["status"], line["jurisdiction"], line["locale"]) == (200, "NL", "en")
    assert line["ruleset"] == app.extensions["rightsgate"].serving.version
    assert 40 not in line.values() and "age=" not in json.dumps(line)  # no personal data


# -- HTTP basics (issue 15, finding 8) --------------------------------------------------------


@pytest.mark.parametrize("path", ["/v1/decision?jurisdiction=DE&age=15", "/healthz"])
def test_unsupported_http_version_is_400(app, path):
    for _ in range(2):  # the second time the decision is remembered: the front must refuse it too
        environ = EnvironBuilder(path=path).get_environ()
        environ["SERVER_PROTOCOL"] = "HTTP/1.9"
        status, headers, body = _call(app.wsgi_app, environ)
        assert status.startswith("400")
        assert dict(headers)["Content-Type"] == "application/problem+json"
        assert "HTTP version" in json.loads(body)["detail"]


def test_http11_without_host_is_400(app):
    for _ in range(2):
        environ = EnvironBuilder(path="/v1/decision", query_string="jurisdiction=DE&age=15").get_environ()
        del environ["HTTP_HOST"]
        status, _headers, body = _call(app.wsgi_app, environ)
        assert status.startswith("400")
        assert json.loads(body)["errors"][0]["field"] == "Host"
    environ = EnvironBuilder(path="/healthz").get_environ()
    del environ["HTTP_HOST"]
    environ["SERVER_PROTOCOL"] = "HTTP/1.0"  # HTTP/1.0 needs no Host
    assert _call(app.wsgi_app, environ)[0].startswith("200")


@pytest.mark.parametrize(("path", "allowed"), [("/v1/decision", {"GET", "HEAD", "POST", "OPTIONS"}),
                                               ("/healthz", {"GET", "HEAD", "OPTIONS"})])
def test_options_is_204_with_allow(client, path, allowed):
    response = client.options(path)
    assert response.status_code == 204
    assert {m.strip() for m in response.headers["Allow"].split(",")} == allowed
    assert "Content-Type" not in response.headers
    assert response.data == b""


def test_options_on_an_unknown_path_is_a_404_problem(client):
    response = client.options("/nowhere")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def test_openapi_sends_no_empty_vary(client):
    response = client.get("/openapi.json")
    assert "Vary" not in response.headers
    assert all(value.strip() for _, value in response.headers)


def test_a_short_post_body_is_handed_on(app):
    """A client that sends less than its Content-Length: the front reads what came, Flask answers."""
    environ = _environ("POST", "", b'{"jurisdiction": "DE", "age": 15}')
    environ["CONTENT_LENGTH"] = "100"
    environ["wsgi.input"] = io.BytesIO(b'{"jurisdiction": "DE", "age": 15}')
    status, _, _ = _call(app.wsgi_app, environ)
    assert status[:3] in ("400", "422")


def test_a_working_set_of_a_few_thousand_requests_is_answered_from_the_memo(make_app):
    """With the default cache size, 2,100 distinct requests sent again all hit the memo.

    The memo is emptied when full; before the default was raised (2048), a mix of 2,078
    repeated requests (bench/mix.py over 114 places) emptied it every round and got no
    hit at all, so every request went through Flask (~20x the cost of a hit).
    """
    app = make_app(RIGHTSGATE_RULES_DIR=RULES_DIR, RIGHTSGATE_RELOAD_INTERVAL=0)
    serving = app.extensions["rightsgate"].serving
    places = sorted(serving.snapshot.tables)[:21]
    queries = [f"jurisdiction={place}&age={age}" for place in places for age in range(100)]
    assert len(queries) == 2100
    for query in queries:
        _call(app.wsgi_app, _environ("GET", query))
    hits = serving.answers.hits
    for query in queries:
        status, _, _ = _call(app.wsgi_app, _environ("GET", query))
        assert status == "200 OK"
    assert serving.answers.hits - hits == len(queries)

