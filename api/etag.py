"""HTTP caching: strong ETags, conditional GETs, and the serialised-response cache.

A response body is a pure function of (ruleset version, locales, normalised request,
served locale), so the ETag is derived from exactly those, and the encoded body is
kept in a bounded LRU that belongs to the active snapshot: a reload brings a new,
empty cache and the old one is dropped with its snapshot.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass

from flask import Response, request

from .errors import ApiProblem

JSON_MIMETYPE = "application/json"


@dataclass(frozen=True)
class CachedBody:
    """An encoded response body and its (unquoted) strong ETag."""

    body: bytes
    etag: str


class ResponseCache:
    """A thread-safe LRU of CachedBody, bounded to `maxsize` entries."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._items: OrderedDict[Hashable, CachedBody] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> CachedBody | None:
        """Return the cached body for `key`, or None."""
        with self._lock:
            entry = self._items.get(key)
            if entry is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return entry

    def put(self, key: Hashable, entry: CachedBody) -> None:
        """Keep `entry`, evicting the least recently used beyond `maxsize`."""
        if self.maxsize <= 0:
            return
        with self._lock:
            self._items[key] = entry
            self._items.move_to_end(key)
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


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


def send_cached(entry: CachedBody, *, cache_control: str, vary: Iterable[str],
                content_language: str | None = None) -> Response:
    """Answer with `entry`, or 304 when If-None-Match matches it (RFC 9110 §13.1.2)."""
    matches = request.if_none_match and request.if_none_match.contains_weak(entry.etag)
    if matches and request.method not in ("GET", "HEAD"):
        raise ApiProblem("precondition-failed",
                         "If-None-Match matched the current representation; a POST is not "
                         "answered conditionally. Send it without If-None-Match.")
    if matches:
        response = Response(status=304)
        response.headers.pop("Content-Type", None)
    else:
        response = Response(entry.body, mimetype=JSON_MIMETYPE)
    response.set_etag(entry.etag)
    response.headers["Cache-Control"] = cache_control
    response.vary.update(vary)
    if content_language:
        response.headers["Content-Language"] = content_language
    return response
