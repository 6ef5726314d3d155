"""HTTP validators: strong ETags, and the conditional answer on the Flask path.

A response body is a pure function of (ruleset version, translations, normalised
request, served locale), so the ETag is derived from exactly those (`make_etag`);
bodies not keyed by a request get a digest of their bytes (`body_etag`). Which
responses are cached, and for how long, is api.serving's business.
"""

from __future__ import annotations

import hashlib
from collections.abc import Hashable, Iterable
from dataclasses import dataclass

from flask import Response, request
from werkzeug.http import quote_etag

from .errors import ApiProblem

JSON_MIMETYPE = "application/json"


@dataclass(frozen=True, slots=True)
class CachedBody:
    """An encoded response body and its (unquoted) strong ETag."""

    body: bytes
    etag: str


def make_etag(version: str, locales_digest: str, key: Hashable) -> str:
    """Return the ETag value (unquoted) for a response of `version` keyed by `key`.

    The ruleset version leads, so a client (and our tests) can see which rule set a
    cached copy came from; the rest is a digest of the normalised request, the
    served locale and the translations.
    """
    digest = hashlib.blake2b(repr((locales_digest, key)).encode(), digest_size=10).hexdigest()
    return f"{version}-{digest}"


def body_etag(prefix: str, body: bytes) -> str:
    """Return an ETag value for a body that is not keyed by a request."""
    return f"{prefix}-{hashlib.blake2b(body, digest_size=10).hexdigest()}"


def send_cached(entry: CachedBody, *, cache_control: str, vary: Iterable[str] = (),
                content_language: str | None = None, mimetype: str = JSON_MIMETYPE) -> Response:
    """Answer with `entry`, or 304 when If-None-Match matches it (RFC 9110 §13.1.2).

    For bodies outside api.serving (the OpenAPI document, the component and its
    manifest). An empty `vary` sends no Vary header at all (an empty `Vary:` is malformed).
    """
    matches = request.if_none_match and request.if_none_match.contains_weak(entry.etag)
    if matches and request.method not in ("GET", "HEAD"):
        raise ApiProblem("precondition-failed",
                         "If-None-Match matched the current representation; a POST is not "
                         "answered conditionally. Send it without If-None-Match.")
    headers = [("ETag", quote_etag(entry.etag)), ("Cache-Control", cache_control)]
    vary_value = ", ".join(vary)
    if vary_value:
        headers.append(("Vary", vary_value))
    if content_language:
        headers.append(("Content-Language", content_language))
    if matches:
        response = Response(status=304, headers=headers)
        response.headers.pop("Content-Type", None)
    else:
        response = Response(entry.body, headers=headers, mimetype=mimetype)
    return response
