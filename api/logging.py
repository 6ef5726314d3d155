"""Structured logs: one JSON line per request (and per reload) on stderr.

A request line holds method, path, status, duration_ms, the ruleset version, the
normalised jurisdiction code and the served locale. It never holds the query
string, the body, an age or a birthdate: the path comes from PATH_INFO and the other
values are only those the views chose to record with `annotate`.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import traceback
from collections.abc import Callable, Iterable
from typing import Any

from flask import request

ENVIRON_KEY = "rightsgate.log"
MAX_PATH = 200
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


# gunicorn's error log. gunicorn writes what it could not parse into it ("Invalid HTTP
# request line: 'GET /v1/decision?birthdate=...'", header values, chunk bytes) and the
# URI of a request that failed; all of that can hold an age or a birthdate.
SERVER_ERROR_LOGGER = "gunicorn.error"
_QUOTED = re.compile(r"b?'[^']*'" + r'|b?"[^"]*"')
_QUERY = re.compile(r"\?\S+")


class RedactRequestData(logging.Filter):
    """Blank request data out of the server's log lines: quoted values and query strings."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _QUERY.sub("?[redacted]", _QUOTED.sub("'[redacted]'", message))
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


def configure_logging(level: int = logging.INFO) -> None:
    """Send the `rightsgate` loggers to stderr as JSON lines and keep request data out of
    gunicorn's error log (once per process)."""
    logger = logging.getLogger("rightsgate")
    logger.setLevel(level)
    if not any(getattr(h, _HANDLER_MARK, False) for h in logger.handlers):
        handler = StderrHandler()
        handler.setFormatter(JsonFormatter())
        setattr(handler, _HANDLER_MARK, True)
        logger.addHandler(handler)
    # Our lines are complete; a root handler (gunicorn's, say) would print them twice.
    logger.propagate = False
    server_log = logging.getLogger(SERVER_ERROR_LOGGER)
    if not any(isinstance(f, RedactRequestData) for f in server_log.filters):
        server_log.addFilter(RedactRequestData())


def annotate(**fields: Any) -> None:
    """Record safe, normalised facts about this request for its log line."""
    request.environ.setdefault(ENVIRON_KEY, {}).update(fields)


class RequestLogMiddleware:
    """WSGI middleware that logs one line per request, whatever happened inside."""

    def __init__(self, app: Callable) -> None:
        self.app = app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        started = time.perf_counter()
        status_holder: list[int] = []

        def recording_start_response(status: str, headers: list, exc_info: Any = None) -> Callable:
            status_holder[:] = [int(status.split(" ", 1)[0])]
            return start_response(status, headers, exc_info)

        try:
            return self.app(environ, recording_start_response)
        except Exception:
            status_holder[:] = [500]
            raise
        finally:
            if request_log.isEnabledFor(logging.INFO):
                fields = environ.get(ENVIRON_KEY, {})
                path = environ.get("PATH_INFO", "")
                # makeRecord + handle is what `info` does, minus the search of the stack for
                # the caller's file and line, which this line never shows (bench/results.md).
                request_log.handle(request_log.makeRecord(
                    request_log.name, logging.INFO, "", 0, "request", (), None, extra={
                        "event": "request",
                        "method": environ.get("REQUEST_METHOD", "")[:16],
                        "path": path[:MAX_PATH],
                        "status": status_holder[0] if status_holder else None,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                        "ruleset": fields.get("ruleset"),
                        "jurisdiction": fields.get("jurisdiction"),
                        "locale": fields.get("locale"),
                    }))
