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
from werkzeug.http import quote_etag

from .errors import ApiProblem

JSON_MIMETYPE = "application/json"


@dataclass(frozen=True, slots=True)
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


class AnswerMemo(dict):
    """Finished answers keyed by the raw request input, at most `maxsize` of them.

    It sits in front of request parsing: a request whose raw input was answered
    before skips the schemas, the negotiation and the ResponseCache. A plain dict, so
    a hit is a single C-level `get`; emptied when full, which is cheaper than an LRU on
    the hit path and refills in one request per key. Safe under the GIL: a concurrent
    `clear` costs at most a miss. The values reference the ResponseCache's bodies, so
    the memo adds keys, not bodies, in the common case.

    Answers to requests without an `as_of` are today's, so the memo holds one UTC day
    at a time: `starts <= time.time() < ends` says it is still that day, and
    `start_day` empties it for another one.
    """

    def __init__(self, maxsize: int) -> None:
        super().__init__()
        self.maxsize = maxsize
        self.day = -1  # days since 1970-01-01 (UTC) of the answers held
        self.starts = self.ends = 0.0  # that day, in time.time() seconds

    def start_day(self, now: float) -> None:
        """Empty the memo for the UTC day of `now` (seconds since the epoch)."""
        day = int(now // 86400)
        if day != self.day:
            self.clear()
            self.day = day
            self.starts, self.ends = day * 86400.0, (day + 1) * 86400.0

    def remember(self, key: Hashable, value: object, day: int) -> None:
        """Keep `value` under `key` if the memo still holds `day`; empty it first when full."""
        if self.maxsize <= 0 or day != self.day:
            return
        if len(self) >= self.maxsize:
            self.clear()
        self[key] = value


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
    # The headers are given to the constructor at once: setting them one by one on the
    # Response (set_etag, vary.update, ...) cost ~15 µs per request (bench/results.md).
    headers = [("ETag", quote_etag(entry.etag)), ("Cache-Control", cache_control),
               ("Vary", ", ".join(vary))]
    if content_language:
        headers.append(("Content-Language", content_language))
    if matches:
        response = Response(status=304, headers=headers)
        response.headers.pop("Content-Type", None)
    else:
        response = Response(entry.body, headers=headers, mimetype=JSON_MIMETYPE)
    return response
