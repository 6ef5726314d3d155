"""CORS with an allow-list of origins; closed (no CORS headers at all) by default.

Browsers on an allowed origin may send Sec-GPC, Content-Type, If-None-Match and
Accept-Language, and may read ETag and Content-Language. Preflights for an allowed
origin are answered 204 before any view runs; anything else gets no CORS headers,
which a browser reads as "not allowed".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from flask import Flask, Response, request

ALLOW_HEADERS = "Sec-GPC, Content-Type, If-None-Match, Accept-Language"
EXPOSE_HEADERS = "ETag, Content-Language"
PREFLIGHT_MAX_AGE = "600"


def init_cors(app: Flask, origins: Iterable[str]) -> Callable[[], Response | None] | None:
    """Add CORS headers for the origins in `origins`; return the preflight answer.

    The returned function (None when CORS is closed) answers a preflight, or returns None
    for any other request; the app calls it from its before-request hook, before the
    Accept check.
    """
    allowed = frozenset(origins)
    if not allowed:
        return None
    any_origin = "*" in allowed

    def allow_origin() -> str | None:
        origin = request.headers.get("Origin")
        if not origin:
            return None
        if any_origin:
            return "*"
        return origin if origin in allowed else None

    def preflight() -> Response | None:
        if (request.method != "OPTIONS" or request.url_rule is None
                or "Access-Control-Request-Method" not in request.headers):
            return None
        origin = allow_origin()
        if origin is None:
            return None  # the automatic OPTIONS answer, without CORS headers
        # GET and POST of one path can be separate rules: ask the map about the path.
        adapter = app.url_map.bind_to_environ(request.environ)
        methods = sorted(set(adapter.allowed_methods()) - {"OPTIONS"})
        response = Response(status=204)
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Methods"] = ", ".join(methods)
        response.headers["Access-Control-Allow-Headers"] = ALLOW_HEADERS
        response.headers["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE
        response.headers["Allow"] = ", ".join([*methods, "OPTIONS"])
        return response

    @app.after_request
    def _cors_headers(response: Response) -> Response:
        # The answer differs by Origin once CORS is on, so shared caches must key on it.
        response.vary.add("Origin")
        origin = allow_origin()
        if origin is not None and "Access-Control-Allow-Origin" not in response.headers:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
        return response

    return preflight
