"""The outermost WSGI layer: remembered decisions before Flask, and one journal entry per request.

Most decision requests repeat one seen before (same query string or body, same
Sec-GPC and Accept-Language). For those the Serving already holds the finished
Answer, and routing, the request object, hooks and the response object would cost
~20 times the lookup. `Front` answers them itself, with exactly the status, headers
and bytes the Flask path sends (both use `serving.conditional`; the security headers
come from api.security; tests/api/test_front.py compares the two byte for byte).
Everything else (errors, first sightings, other paths, anything unusual about the
request) goes to Flask untouched; a POST body read here is handed on.

Every request, answered here or by Flask, is recorded in the request journal
(api.journal) for the request log and the metrics: one tuple appended, written in
batches off the request path.

`check_protocol` refuses, on the Flask path, an HTTP version we do not speak and an
HTTP/1.1 request without Host (RFC 9112 §3.2), whatever the server lets through; the
front answers only requests that pass it.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from time import perf_counter, time
from typing import TYPE_CHECKING, Any

from .errors import ApiProblem, FieldError
from .logging import ENVIRON_KEY
from .security import SECURITY_HEADERS
from .serving import BODY, QUERY, Answer, conditional

if TYPE_CHECKING:
    from .journal import RequestJournal
    from .reload import RulesReloader

# granian reports HTTP/1.0 as "HTTP/1".
SUPPORTED_PROTOCOLS = frozenset(("HTTP/1", "HTTP/1.0", "HTTP/1.1", "HTTP/2", "HTTP/2.0", "HTTP/3"))
PATH = "/v1/decision"
# Accept headers that certainly allow JSON; any other goes through Flask's negotiation.
_PLAIN_ACCEPT = frozenset(("*/*", "application/json"))
_JSON_TYPES = frozenset(("application/json", "application/json; charset=utf-8",
                         "application/json;charset=utf-8"))
_SECURITY = tuple(SECURITY_HEADERS.items())
_NO_FIELDS: dict[str, Any] = {}


def check_protocol(environ: dict[str, Any]) -> None:
    """Raise a 400 problem for an unsupported HTTP version or an HTTP/1.1 request without Host."""
    protocol = environ.get("SERVER_PROTOCOL", "")
    if protocol not in SUPPORTED_PROTOCOLS:
        raise ApiProblem("bad-request", "Unsupported HTTP version; use HTTP/1.1.",
                         [FieldError(None, "header", "unsupported HTTP version")])
    if protocol == "HTTP/1.1" and not environ.get("HTTP_HOST"):
        raise ApiProblem("bad-request", "An HTTP/1.1 request must carry a Host header.",
                         [FieldError("Host", "header", "missing")])


class Front:
    """WSGI: remembered GET/POST /v1/decision answers without Flask; the rest to `app`; every
    request into `journal`."""

    def __init__(self, app: Callable, reloader: RulesReloader, journal: RequestJournal,
                 max_content_length: int | None, *, answer_remembered: bool = True) -> None:
        self.app = app
        self.reloader = reloader
        self.journal = journal
        self.max_content_length = max_content_length
        # Off when CORS is on: preflights and CORS headers are Flask's.
        self.answer_remembered = answer_remembered

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        # A remembered answer costs a few microseconds here, so every lookup counts: one
        # bound `get`, the lookup and the 200 inline, the rarer cases in methods.
        started = perf_counter()
        get = environ.get
        method = get("REQUEST_METHOD", "")
        path = get("PATH_INFO", "")
        if (path == PATH and (method == "GET" or method == "POST") and self.answer_remembered
                and get("HTTP_HOST") and get("SERVER_PROTOCOL") in SUPPORTED_PROTOCOLS
                and get("HTTP_ACCEPT", "*/*") in _PLAIN_ACCEPT):
            answer = self._remembered(environ, method)
            if answer is not None:
                if get("HTTP_IF_NONE_MATCH"):
                    result = self._conditional(answer, environ, method, start_response)
                    if result is None:
                        return self._through_flask(environ, start_response, method, path, started)
                    status = 304 if not result else 200
                else:
                    # Its headers as the Serving put them together (a copy: servers may add to it).
                    start_response("200 OK", list(answer.complete_headers))
                    result, status = [answer.body], 200
                self.journal.record((time(), method, path, status, perf_counter() - started, answer.version,
                                     answer.jurisdiction, answer.locale))
                return result
        return self._through_flask(environ, start_response, method, path, started)

    def _through_flask(self, environ: dict[str, Any], start_response: Callable, method: str, path: str,
                       started: float) -> Iterable[bytes]:
        status_seen: list[int] = []

        def recording(status: str, headers: list, exc_info: Any = None) -> Callable:
            status_seen[:] = [int(status[:3])]
            return start_response(status, headers, exc_info)

        try:
            return self.app(environ, recording)
        except Exception:
            status_seen[:] = [500]
            raise
        finally:
            fields = environ.get(ENVIRON_KEY) or _NO_FIELDS
            self.journal.record((time(), method, path, status_seen[0] if status_seen else None,
                                 perf_counter() - started, fields.get("ruleset"), fields.get("jurisdiction"),
                                 fields.get("locale")))

    def _remembered(self, environ: dict[str, Any], method: str) -> Answer | None:
        """The remembered answer to this request, or None (Flask answers it)."""
        reloader = self.reloader
        if not reloader.watching:
            reloader.ensure_running()  # what the Flask path's before-request hook does first
        serving = reloader.serving
        get = environ.get
        if method == "GET":
            query = get("QUERY_STRING", "").encode("latin-1")
            return serving.remembered((QUERY, query, get("HTTP_SEC_GPC"), get("HTTP_ACCEPT_LANGUAGE"),
                                       serving.edge_input(QUERY, query, environ)))
        raw = self._body(environ)
        if raw is None:
            return None
        environ["wsgi.input"] = io.BytesIO(raw)  # Flask reads it again if it answers
        return serving.remembered((BODY, raw, get("HTTP_SEC_GPC"), get("HTTP_ACCEPT_LANGUAGE"),
                                   serving.edge_input(BODY, raw, environ)))

    @staticmethod
    def _conditional(answer: Answer, environ: dict[str, Any], method: str,
                     start_response: Callable) -> list[bytes] | None:
        """Answer a request with If-None-Match: [] for a 304, [body] for a 200, None for Flask's 412."""
        try:
            ready = conditional(answer, environ["HTTP_IF_NONE_MATCH"], method)
        except ApiProblem:
            return None  # the 412 problem is Flask's to write
        if ready.status == 304:
            start_response("304 NOT MODIFIED", [*ready.headers, *_SECURITY])
            return []
        start_response("200 OK", list(answer.complete_headers))
        return [answer.body]

    def _body(self, environ: dict[str, Any]) -> bytes | None:
        """The POST body when it is plain JSON of a declared, allowed length; else None (Flask's)."""
        if environ.get("QUERY_STRING") or environ.get("CONTENT_TYPE", "").lower() not in _JSON_TYPES:
            return None
        if environ.get("HTTP_CONTENT_ENCODING", "identity").strip().lower() not in ("identity", ""):
            return None
        try:
            length = int(environ.get("CONTENT_LENGTH") or "")
        except ValueError:
            return None
        if length < 0 or (self.max_content_length is not None and length > self.max_content_length):
            return None
        raw = environ["wsgi.input"].read(length)
        if len(raw) != length:  # the client went away mid-body: Flask reads what there is
            environ["wsgi.input"] = io.BytesIO(raw)
            return None
        return raw
