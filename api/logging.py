"""Structured logs: one JSON line per request (and per reload) on stderr.

A request line holds method, path, status, duration_ms, the ruleset version, the
normalised jurisdiction code and the served locale. It never holds the query
string, the body, an age or a birthdate: `path` is the route template the request
matched (or `unmatched`: PATH_INFO is decoded, so `/v1/decision%3Fbirthdate%3D...`
arrives as a path holding the query), `method` a known HTTP method (or `OTHER`), and
the other values are only those the views chose to record with `annotate`.

Every other line (the server's own, reloads, errors, tracebacks) goes through
`RedactPersonalData`, which blanks anything date-like or age-like and quoted request
data; the JSON `ts` field is added after it and is the only date in a line.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
import traceback
from collections.abc import Sequence
from typing import Any

from flask import request

ENVIRON_KEY = "rightsgate.log"
_HANDLER_MARK = "_rightsgate_json"
# Attributes every LogRecord has; anything else was passed with `extra=`.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}
# One encoder for every line (json.dumps with `default` builds a new one per call).
_ENCODER = json.JSONEncoder(ensure_ascii=False, default=str)

request_log = logging.getLogger("rightsgate.request")


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object: time, level, logger, message, extras."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,  # which gunicorn worker
            "message": record.getMessage(),
        }
        data.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info:
            data["exception"] = "".join(traceback.format_exception(*record.exc_info))
        return _ENCODER.encode(data)


class StderrHandler(logging.StreamHandler):
    """Write to whatever sys.stderr is now (so pytest's capture and gunicorn both see it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


# Methods logged as sent; anything else is `OTHER` (the method word is client data).
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT"})
UNMATCHED = "unmatched"
_routes: frozenset[str] | None = None


def known_routes() -> frozenset[str]:
    """The paths the API serves (every route is a fixed path), from its OpenAPI document."""
    global _routes
    if _routes is None:
        from .spec import spec_json

        _routes = frozenset(json.loads(spec_json())["paths"]) | {"/openapi.json"}
    return _routes


def known_method(method: str) -> str:
    """The method as sent when it is a known HTTP method, else `OTHER`."""
    return method if method in KNOWN_METHODS else "OTHER"


def route_template(path: str) -> str:
    """The route `path` matched, or UNMATCHED: never the client's own path."""
    return path if path in known_routes() else UNMATCHED


# Date-like and age-like text, in any line (after a personal datum was put into a path,
# a header, a method word or an exception message by a client).
_PERSONAL = re.compile(
    r"\b\d{4}([-/.])\d{1,2}\1\d{1,2}\b"                                   # 1911-04-23, 1911/4/23
    r"|\b(?:0?[1-9]|[12]\d|3[01])([-/.])(?:0?[1-9]|[12]\d|3[01])\2(?:\d{4}|\d{2})\b"  # 23.04.1911
    r"|\b(?:1[89]|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\b"          # 19110423
    r"|(?i:(?<![a-z])(?:birth\w*|dob))[\"'\]]*\s*[:=]?\s*[^\s,;&}]*"           # birthdate=...
    r"|(?i:(?<![a-z])age)[\"'\]]*\s*[:=]?\s*[\"']?-?\d+"                       # age=13, "age": 13
    r"|(?i:\b\d{1,3}\s*(?:years?|yrs?|y/?o|jahre|ans|años)\b)")                  # 13 years
# gunicorn's error log (when gunicorn serves). gunicorn writes what it could not parse into it ("Invalid HTTP
# request line: 'GET /v1/decision?birthdate=...'", header values, chunk bytes) and the
# URI of a request that failed; all of that can hold an age or a birthdate.
SERVER_ERROR_LOGGER = "gunicorn.error"
_QUOTED = re.compile(r"b?'[^']*'" + r'|b?"[^"]*"')
_QUERY = re.compile(r"\?\S+")


def redact(text: str) -> str:
    """`text` without quoted values, query strings, or anything date- or age-like."""
    return _QUERY.sub("?[redacted]", _QUOTED.sub("'[redacted]'", _PERSONAL.sub("[redacted]", text)))


class RedactRequestData(logging.Filter):
    """Blank request data out of the server's log lines: quoted values and query strings,
    and anything date-like or age-like."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


class RedactPersonalData(logging.Filter):
    """Blank anything date-like or age-like in a record: message, extras, exception text."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _PERSONAL.sub("[redacted]", message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        for key, value in list(record.__dict__.items()):
            if key not in _STANDARD and isinstance(value, str):
                setattr(record, key, _PERSONAL.sub("[redacted]", value))
        if record.exc_info and record.exc_info[0] is not None:
            text = "".join(traceback.format_exception(*record.exc_info))
            record.exc_info, record.exc_text = None, None
            record.__dict__["exception"] = _PERSONAL.sub("[redacted]", text)
        return True


def configure_logging(level: int = logging.INFO) -> None:
    """Send the `rightsgate` loggers to stderr as JSON lines and keep request data out of
    gunicorn's error log (once per process)."""
    logger = logging.getLogger("rightsgate")
    logger.setLevel(level)
    if not any(getattr(h, _HANDLER_MARK, False) for h in logger.handlers):
        handler = StderrHandler()
        handler.setFormatter(JsonFormatter())
        handler.addFilter(RedactPersonalData())
        setattr(handler, _HANDLER_MARK, True)
        logger.addHandler(handler)
    # Our lines are complete; a root handler (gunicorn's, say) would print them twice.
    logger.propagate = False
    # Anything else that logs (Flask, werkzeug, libraries) gets the same format and
    # redaction, unless the host process configured the root logger itself.
    root = logging.getLogger()
    if not root.handlers:
        fallback = StderrHandler()
        fallback.setFormatter(JsonFormatter())
        fallback.addFilter(RedactPersonalData())
        root.addHandler(fallback)
    server_log = logging.getLogger(SERVER_ERROR_LOGGER)
    if not any(isinstance(f, RedactRequestData) for f in server_log.filters):
        server_log.addFilter(RedactRequestData())


def annotate(**fields: Any) -> None:
    """Record safe, normalised facts about this request for its log line."""
    request.environ.setdefault(ENVIRON_KEY, {}).update(fields)


_encode_str = json.encoder.encode_basestring  # what _ENCODER does to a str (ensure_ascii=False)
# The request line as JsonFormatter writes it for `request_log` (same keys, same order), in
# the parts RequestLog puts together: the time and pid; method, path and status; the
# duration; ruleset, jurisdiction and locale.
_LINE_HEAD = '{"ts": "%s.'
_LINE_PID = ('Z", "level": "info", "logger": "rightsgate.request", "pid": %d, "message": "request", '
             '"event": "request", ')
_LINE_MIDDLE = '"method": %s, "path": %s, "status": %s, "duration_ms": '
_LINE_TAIL = ', "ruleset": %s, "jurisdiction": %s, "locale": %s}\n'
_LINE = "%s%03d%s%s%.3f%s"  # head and ts, milliseconds, pid, middle, duration in ms, tail


def _json_value(value: Any) -> str:
    if type(value) is str:
        return _encode_str(value)
    return _ENCODER.encode(value)


def _direct_handler() -> StderrHandler | None:
    """Return our handler when it alone would get `request_log`'s records unchanged.

    Then a request line can be written straight to its stream: what `Logger.handle` would
    do (no filter, no other handler, the JSON formatter) minus the LogRecord and the
    formatter's work per record. Anything else configured (a test's handler, a filter,
    another formatter) gets the ordinary logging path.
    """
    parent = request_log.parent
    if (request_log.handlers or request_log.filters or request_log.disabled or not request_log.propagate
            or parent is None or parent.name != "rightsgate" or parent.filters or parent.disabled
            or parent.propagate or len(parent.handlers) != 1):
        return None
    handler = parent.handlers[0]
    if (type(handler) is not StderrHandler or not getattr(handler, _HANDLER_MARK, False)
            or type(handler.formatter) is not JsonFormatter
            # Our redaction filter may stay: a request line holds no client text to redact.
            or any(type(f) is not RedactPersonalData for f in handler.filters)
            or handler.level > logging.INFO):
        return None
    return handler


class RequestLog:
    """The request journal's sink that writes one JSON line per request (api.journal).

    Method and path are made safe here: a known method or `OTHER`, the route template
    or `unmatched`. When our handler alone would get `request_log`'s records unchanged
    (`_direct_handler`), a batch is written in one write, each line put together from
    parts kept per distinct value (there are few: methods, routes, statuses, versions,
    places, locales); anything else configured (a test's handler, a filter, another
    formatter) gets one ordinary log record per entry.
    """

    _PARTS_KEPT = 4096  # distinct (method, route, status) and (ruleset, place, locale) parts

    def __init__(self) -> None:
        self._second: tuple[int, str] = (-1, "")  # (a second, the line's start in that second)
        self._middles: dict[tuple, str] = {}
        self._tails: dict[tuple, str] = {}

    def __call__(self, entries: Sequence[tuple]) -> None:
        if not entries or not request_log.isEnabledFor(logging.INFO):
            return
        handler = _direct_handler()
        if handler is None:
            for wall, method, path, status, seconds, ruleset, jurisdiction, locale in entries:
                # makeRecord + handle is what `info` does, minus the search of the stack for
                # the caller's file and line, which this line never shows.
                record = request_log.makeRecord(
                    request_log.name, logging.INFO, "", 0, "request", (), None, extra={
                        "event": "request", "method": known_method(method),
                        "path": route_template(path), "status": status,
                        "duration_ms": round(seconds * 1000, 3), "ruleset": ruleset,
                        "jurisdiction": jurisdiction, "locale": locale})
                record.created, record.msecs = wall, int(wall * 1000) % 1000
                request_log.handle(record)
            return
        pid_part = _LINE_PID % os.getpid()
        middles, tails = self._middles, self._tails
        if len(middles) > self._PARTS_KEPT or len(tails) > self._PARTS_KEPT:
            middles.clear()
            tails.clear()
        lines = []
        for wall, method, path, status, seconds, ruleset, jurisdiction, locale in entries:
            second, head = self._second
            if second != int(wall):
                second = int(wall)
                head = _LINE_HEAD % time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
                self._second = (second, head)
            middle = middles.get((method, path, status))
            if middle is None:
                middle = middles[method, path, status] = _LINE_MIDDLE % (
                    _encode_str(known_method(method)),
                    _encode_str(route_template(path)), "null" if status is None else status)
            tail = tails.get((ruleset, jurisdiction, locale))
            if tail is None:
                tail = tails[ruleset, jurisdiction, locale] = _LINE_TAIL % (
                    _json_value(ruleset), _json_value(jurisdiction), _json_value(locale))
            lines.append(_LINE % (head, int((wall - second) * 1000), pid_part, middle, seconds * 1000, tail))
        with handler.lock:  # type: ignore[union-attr]
            try:
                stream = handler.stream
                stream.write("".join(lines))
                stream.flush()
            except Exception:
                handler.handleError(logging.makeLogRecord({"msg": "request", "name": request_log.name}))
