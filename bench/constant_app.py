"""Constant-JSON baselines for the HTTP benchmark, served by the shipped gunicorn config.

    gunicorn -c gunicorn.conf.py bench.constant_app:flask_app
    gunicorn -c gunicorn.conf.py bench.constant_app:wsgi_app
    gunicorn -c gunicorn.conf.py bench.constant_app:stack_app

All answer `/v1/decision` (GET and POST, any query) with the same bytes: a real
decision body of typical size (the file named by BENCH_CONSTANT_BODY, written by
bench/http_load.py from the running service) and the headers rightsgate sends.

- `flask_app`: a bare Flask app doing nothing but that: "the web framework it runs
  in", the baseline of the targets.
- `wsgi_app`: the same without Flask: gunicorn alone (for reference).
- `stack_app`: rightsgate's own app (create_app: request log, security headers,
  negotiation and CORS hooks, error handlers) with the decision view replaced by the
  constant, answered through the same `send_cached`. The difference between it and
  rightsgate is the decision path alone; between it and `flask_app`, rightsgate's
  HTTP layer.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

from flask import Flask, Response, request

BODY = Path(os.environ.get("BENCH_CONSTANT_BODY", "")).read_bytes() if os.environ.get(
    "BENCH_CONSTANT_BODY") else b'{"constant":true}'
HEADERS = [
    ("Content-Type", "application/json"),
    ("Content-Length", str(len(BODY))),
    ("ETag", '"264069904ab38589-fbdc8a914d49d1c29bba"'),
    ("Cache-Control", "private, max-age=300"),
    ("Vary", "Accept-Language, Sec-GPC"),
    ("Content-Language", "de"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"),
]

flask_app = Flask(__name__)


@flask_app.route("/v1/decision", methods=["GET", "POST"])
@flask_app.route("/healthz")
def constant() -> Response:
    """The constant answer (a POST body is read, as rightsgate reads it)."""
    if request.method == "POST":
        request.get_data(cache=False)
    return Response(BODY, headers=HEADERS[2:], mimetype="application/json")


def wsgi_app(environ: dict, start_response: Callable) -> Iterable[bytes]:
    """The constant answer from a bare WSGI callable (no framework at all)."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if length:
        environ["wsgi.input"].read(length)
    start_response("200 OK", HEADERS)
    return [BODY]


def _stack() -> Callable:
    from api import create_app
    from api.etag import CachedBody, send_cached

    app = create_app()
    entry = CachedBody(BODY, "264069904ab38589-fbdc8a914d49d1c29bba")

    def constant_decision() -> Response:
        if request.method == "POST":
            request.get_data(cache=False)
        return send_cached(entry, cache_control="private, max-age=300", vary=("Accept-Language", "Sec-GPC"),
                           content_language="de")

    app.add_url_rule("/bench/constant", "bench_constant", constant_decision, methods=["GET", "POST"])
    inner = app.wsgi_app

    def route_decisions_to_constant(environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/v1/decision":
            environ["PATH_INFO"] = "/bench/constant"
        return inner(environ, start_response)

    app.wsgi_app = route_decisions_to_constant  # type: ignore[method-assign]
    return app


def __getattr__(name: str) -> object:
    # Built on first use only: importing flask_app or wsgi_app must not load the rules.
    if name == "stack_app":
        app = _stack()
        globals()["stack_app"] = app
        return app
    raise AttributeError(name)
