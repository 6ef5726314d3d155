"""RFC 9457 problem details: every error the service returns is application/problem+json.

A problem has `type` (one of the URIs in api.problems), `title`, `status`, `detail`,
`instance` (the request path) and `errors`: a list of {"field", "in", "message"}
naming each bad field (`field` is null when the problem concerns the whole body).
Nothing from an exception's text or traceback ever reaches the client.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from .problems import PROBLEM_TYPES, ProblemType
from .responses import ProblemSchema

PROBLEM_MIMETYPE = "application/problem+json"
MAX_FIELD_NAME = 64
# A problem lists at most this many field errors, then says how many more there were:
# a request with thousands of bad fields must not cost thousands of errors to answer.
MAX_ERRORS = 20

log = logging.getLogger("rightsgate.errors")
_PROBLEM_SCHEMA = ProblemSchema()


# Werkzeug errors without a type of their own map here; others use `about:blank`.
_BY_STATUS = {p.status: p for p in PROBLEM_TYPES.values() if p.slug not in ("malformed-body",)}


@dataclass(frozen=True)
class FieldError:
    field: str | None
    location: str  # query | body | header
    message: str

    def to_dict(self) -> dict[str, Any]:
        name = self.field if self.field is None or len(self.field) <= MAX_FIELD_NAME else (
            self.field[:MAX_FIELD_NAME] + "…")
        return {"field": name, "in": self.location, "message": self.message}


@dataclass
class ApiProblem(Exception):
    """Raise to answer with a problem of type `slug`."""

    slug: str
    detail: str
    errors: list[FieldError] = field(default_factory=list)
    headers: Mapping[str, str] = field(default_factory=dict)
    more: int = 0  # errors beyond `errors` that were counted but not built

    def __post_init__(self) -> None:
        super().__init__(self.detail)


def validation_problem(errors: list[FieldError], more: int = 0) -> ApiProblem:
    """Return a 422 problem naming the fields in `errors` (and `more` not even built)."""
    listed = errors[:MAX_ERRORS]
    names = sorted({e.field for e in listed if e.field}, key=str)
    unlisted = len(errors) - len(listed) + more
    if names:
        listed_names = ", ".join(repr(n[:MAX_FIELD_NAME]) for n in names)
        tail = f" and {unlisted} more" if unlisted > 0 else ""
        detail = f"Invalid or unknown: {listed_names}{tail}; see errors."
    else:
        detail = "The request is invalid."
    return ApiProblem("validation", detail, errors, more=more)


def flatten_messages(messages: Mapping | list | str, location: str,
                     prefix: str | None = None) -> list[FieldError]:
    """Turn marshmallow's {field: [messages]} into a flat list of FieldError."""
    out: list[FieldError] = []
    if isinstance(messages, str):
        return [FieldError(prefix, location, messages)]
    if isinstance(messages, list):
        for item in messages:
            out.extend(flatten_messages(item, location, prefix))
        return out
    for key, value in messages.items():
        name = None if key == "_schema" else (f"{prefix}.{key}" if prefix else str(key))
        out.extend(flatten_messages(value, location, name if name is not None else prefix))
    return out


def listed_errors(errors: Sequence[FieldError], more: int = 0) -> list[dict[str, Any]]:
    """The `errors` member: at most MAX_ERRORS entries, then one saying how many more."""
    out = [e.to_dict() for e in errors[:MAX_ERRORS]]
    unlisted = len(errors) - len(out) + more
    if unlisted > 0:
        out.append(FieldError(None, errors[0].location if errors else "query",
                              f"and {unlisted} more, not listed").to_dict())
    return out


def problem_response(ptype: ProblemType | None, status: int, detail: str,
                     errors: Sequence[FieldError] = (),
                     headers: Mapping[str, str] | None = None, more: int = 0) -> Response:
    """Build an application/problem+json response."""
    if ptype is None:
        try:
            title = HTTPStatus(status).phrase
        except ValueError:
            title = "Error"
        type_uri = "about:blank"
    else:
        type_uri, title = ptype.uri, ptype.title
    body = {
        "type": type_uri,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.path if request else None,
        "errors": listed_errors(errors, more),
    }
    payload = json.dumps(_PROBLEM_SCHEMA.dump(body), ensure_ascii=False, separators=(",", ":"))
    response = Response(payload, status=status, mimetype=PROBLEM_MIMETYPE)
    for key, value in (headers or {}).items():
        response.headers[key] = value
    # Error answers depend on the exact request; no cache should keep them.
    response.headers["Cache-Control"] = "no-store"
    return response


def _handle_problem(error: ApiProblem) -> Response:
    ptype = PROBLEM_TYPES[error.slug]
    return problem_response(ptype, ptype.status, error.detail, error.errors, error.headers, error.more)


def _handle_http(error: HTTPException) -> Response:
    status = error.code or 500
    ptype = _BY_STATUS.get(status)
    headers = {}
    if status == 405:
        allowed = sorted(getattr(error, "valid_methods", None) or [])
        headers["Allow"] = ", ".join(allowed)
        usable = [m for m in allowed if m not in ("HEAD", "OPTIONS")] or allowed
        detail = f"This method is not allowed here; use {' or '.join(usable)}."
    elif status == 404:
        detail = "There is no endpoint at this path; see /openapi.json."
    elif status == 413:
        limit = request.max_content_length
        detail = f"The request body is larger than {limit} bytes." if limit else "The body is too large."
    else:
        # Werkzeug's descriptions are fixed English sentences with no request data in them.
        detail = error.description or (ptype.description if ptype else "")
    if status >= 500:
        log.error("http error %s on %s %s", status, request.method, request.path)
    return problem_response(ptype, status, detail, headers=headers)


# The WSGI server raises its own exceptions from wsgi.input when the bytes of a body are
# malformed (gunicorn: a bad chunk size or terminator). They are the client's doing: 400.
_SERVER_INPUT_ERROR_MODULES = ("gunicorn.http.errors",)


def _handle_unexpected(error: Exception) -> Response:
    if type(error).__module__ in _SERVER_INPUT_ERROR_MODULES:
        # Their text quotes the client's bytes, which can hold personal data: name the type only.
        log.warning("unreadable request body (%s) on %s %s", type(error).__name__, request.method,
                    request.path)
        return problem_response(PROBLEM_TYPES["malformed-body"], 400,
                                "The request body could not be read: its chunked encoding is broken.",
                                [FieldError(None, "body", "unreadable body")])
    # The traceback goes to our log, never to the client.
    log.exception("unhandled %s on %s %s", type(error).__name__, request.method, request.path)
    ptype = PROBLEM_TYPES["internal"]
    return problem_response(ptype, 500, "An unexpected error occurred; it has been logged.")


def register_error_handlers(app: Flask) -> None:
    """Answer every error with a problem document."""
    app.register_error_handler(ApiProblem, _handle_problem)
    app.register_error_handler(HTTPException, _handle_http)
    app.register_error_handler(Exception, _handle_unexpected)
