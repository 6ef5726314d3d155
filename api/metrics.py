"""Prometheus metrics: requests, latency, rule set, reloads, caches (prometheus_client).

What is exported (names are stable; docs/deploy.md shows a scrape):

- `rightsgate_http_requests_total{route,method,status}`: route is the route template
  (`/v1/decision`), or `unmatched`; method a known HTTP method or `OTHER`.
- `rightsgate_http_request_duration_seconds{route}`: latency histogram.
- `rightsgate_ruleset_active{version}`: 1 for the version a live worker serves, else 0.
- `rightsgate_reloads_total{outcome}`: `ok` or `refused` (counted from the reloader's
  log events, so api/reload.py needs no hook).
- `rightsgate_cache_hits_total{cache}` / `rightsgate_cache_misses_total{cache}`: read
  from the app's serving object (see `cache_stats`), synced with the request counts
  (see `MetricsMiddleware`).

Under a multi-process server, PROMETHEUS_MULTIPROC_DIR is set by api/server.py before
this module is imported (each worker writes its own files; the master calls
mark_process_dead for each worker it stops or loses). The metrics are served on their
own bind (RIGHTSGATE_METRICS_BIND) by the master, never on the public port.
"""

from __future__ import annotations

import logging
import multiprocessing.util
import os
import threading
import time
from bisect import bisect_left
from collections import deque
from collections.abc import Callable, Iterable
from time import perf_counter
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from .logging import KNOWN_METHODS, route_template

MULTIPROC = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
# Decisions answer in well under a millisecond in process; the buckets resolve that and
# still show a stuck request.
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)

REGISTRY = CollectorRegistry(auto_describe=True)
REQUESTS = Counter("rightsgate_http_requests", "HTTP requests answered, by route template and status.",
                   ("route", "method", "status"), registry=REGISTRY)
LATENCY = Histogram("rightsgate_http_request_duration_seconds", "Time from request to response start.",
                    ("route",), buckets=BUCKETS, registry=REGISTRY)
RULESET = Gauge("rightsgate_ruleset_active", "1 for the rule-set version served (per live worker, max).",
                ("version",), registry=REGISTRY, multiprocess_mode="livemax")
RELOADS = Counter("rightsgate_reloads", "Rule-set reloads by outcome (ok, refused).", ("outcome",),
                  registry=REGISTRY)
CACHE_HITS = Counter("rightsgate_cache_hits", "Cache hits by cache.", ("cache",), registry=REGISTRY)
CACHE_MISSES = Counter("rightsgate_cache_misses", "Cache misses by cache.", ("cache",), registry=REGISTRY)


# -- cache statistics: a tiny adapter over what the app exposes ----------------------------


def _find_stats_owner(app: Any) -> Any:
    """The object whose `stats()` reports the caches (the Serving object), if any."""
    seen: set[int] = set()
    todo = [app]
    while todo:
        obj = todo.pop()
        if obj is None or id(obj) in seen:
            continue
        seen.add(id(obj))
        if callable(getattr(obj, "stats", None)) and not isinstance(obj, type):
            return obj
        extensions = getattr(obj, "extensions", None)
        if isinstance(extensions, dict):
            todo.extend(extensions.values())
        for name in ("serving", "app", "wsgi_app", "active"):
            todo.append(getattr(obj, name, None) if not isinstance(obj, dict) else None)
    return None


def cache_stats(app: Any) -> dict[str, tuple[int, int]]:
    """(hits, misses) per cache name, from whatever the app exposes.

    Two shapes are understood: a `stats()` method returning `<cache>_hits` /
    `<cache>_misses` numbers (the Serving object), or today's reloader whose active set
    holds a ResponseCache with `hits` / `misses` (reported as cache `body`).
    """
    owner = _find_stats_owner(app)
    if owner is not None:
        stats = owner.stats()
        out = {}
        for key, value in stats.items():
            if key.endswith("_hits") and isinstance(value, int):
                name = key[: -len("_hits")]
                misses = stats.get(f"{name}_misses", 0)
                out[name] = (value, misses if isinstance(misses, int) else 0)
        return out
    from .views import EXTENSION

    flask_app = _find_flask(app)
    reloader = flask_app.extensions.get(EXTENSION) if flask_app is not None else None
    cache = getattr(getattr(reloader, "active", None), "cache", None)
    if cache is None:
        return {}
    return {"body": (int(cache.hits), int(cache.misses))}


def _find_flask(app: Any) -> Any:
    for _ in range(8):
        if app is None or hasattr(app, "url_map"):
            return app
        app = getattr(app, "app", None) or getattr(app, "flask", None)
    return None


def active_version(app: Any) -> str | None:
    """The rule-set version this process serves."""
    owner = _find_stats_owner(app)
    if owner is not None:
        version = owner.stats().get("version")
        if isinstance(version, str):
            return version
    from .views import EXTENSION

    flask_app = _find_flask(app)
    reloader = flask_app.extensions.get(EXTENSION) if flask_app is not None else None
    active = getattr(reloader, "active", None)
    return active.snapshot.version if active is not None else None


class _Sync:
    """Turns the app's growing (and per-rule-set resetting) counters into counter deltas."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.last: dict[str, tuple[int, int]] = {}
        self.version: str | None = None

    def run(self) -> None:
        try:
            current = cache_stats(self.app)
            version = active_version(self.app)
        except Exception:  # metrics must never fail a request
            logging.getLogger("rightsgate.metrics").exception("cache statistics unavailable")
            return
        for name, (hits, misses) in current.items():
            old_hits, old_misses = self.last.get(name, (0, 0))
            # A new rule set starts its counters at 0 again: count from there.
            CACHE_HITS.labels(name).inc(hits - old_hits if hits >= old_hits else hits)
            CACHE_MISSES.labels(name).inc(misses - old_misses if misses >= old_misses else misses)
        self.last = current
        if version != self.version:
            if self.version is not None:
                RULESET.labels(self.version).set(0)
            if version is not None:
                RULESET.labels(version).set(1)
            self.version = version


class MetricsMiddleware:
    """Count and time every request at the outermost WSGI layer (memo hits included).

    A request only appends (path, method, status, seconds) to a deque (atomic under the
    GIL); `flush`, every second from a timer thread and once when the worker exits, turns
    what has gathered into counter and histogram increments, once per distinct label set,
    off the request path. Counting each
    request into prometheus_client's memory-mapped files directly cost ~30 us per
    request, as much as the rest of a remembered answer (bench/results.md, section 2).
    Scrapes see a worker's requests up to a second late.
    """

    def __init__(self, app: Callable, flask_app: Any = None, flush_every: float = 1.0) -> None:
        self.app = app
        self.sync = _Sync(flask_app if flask_app is not None else app)
        self.pending: deque[tuple[str, str, str, float]] = deque()
        self.flush_lock = threading.Lock()
        self.flush_every = flush_every
        self.sync.run()
        # A worker that stops exports its last second. A multiprocessing finalizer runs both
        # when a server's worker process ends (multiprocessing skips atexit there) and at an
        # ordinary interpreter exit.
        multiprocessing.util.Finalize(self, self.flush, exitpriority=10)
        if flush_every > 0:
            threading.Thread(target=self._flush_forever, name="rightsgate-metrics-flush", daemon=True).start()

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        started = perf_counter()
        status_holder: list[str] = []

        def recording(status: str, headers: list, exc_info: Any = None) -> Callable:
            status_holder[:] = [status[:3]]
            return start_response(status, headers, exc_info)

        try:
            return self.app(environ, recording)
        except Exception:
            status_holder[:] = ["500"]
            raise
        finally:
            self.pending.append((environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", ""),
                                 status_holder[0] if status_holder else "000", perf_counter() - started))

    def flush(self) -> None:
        """Export what has gathered, and the cache statistics."""
        with self.flush_lock:
            self._flush()

    def _flush(self) -> None:
        try:
            counts: dict[tuple[str, str, str], int] = {}
            latencies: dict[str, list[float]] = {}
            routes: dict[str, str] = {}
            pop = self.pending.popleft
            while True:
                try:
                    path, method, status, seconds = pop()
                except IndexError:
                    break
                route = routes.get(path)
                if route is None:
                    route = routes[path] = route_template(path)
                key = (route, method if method in KNOWN_METHODS else "OTHER", status)
                counts[key] = counts.get(key, 0) + 1
                latencies.setdefault(route, []).append(seconds)
            for labels, count in counts.items():
                REQUESTS.labels(*labels).inc(count)
            for route, seconds in latencies.items():
                _observe_many(LATENCY.labels(route), seconds)
            self.sync.run()
        except Exception:  # metrics must never take the worker down
            logging.getLogger("rightsgate.metrics").exception("metrics flush failed")

    def _flush_forever(self) -> None:
        while True:
            time.sleep(self.flush_every)
            self.flush()


def _observe_many(histogram: Any, values: list[float]) -> None:
    """`histogram.observe(v)` for every v, writing each bucket and the sum once.

    prometheus_client has no bulk observe; this uses the child's `_sum` and `_buckets`
    values the way its `observe` does (version pinned in constraints.txt; the server test
    in tests/reliability/test_metrics.py checks the exported counts and buckets).
    """
    bounds = histogram._upper_bounds
    per_bucket = [0] * len(bounds)
    for value in values:
        per_bucket[bisect_left(bounds, value)] += 1
    histogram._sum.inc(sum(values))
    for bucket, count in zip(histogram._buckets, per_bucket, strict=True):
        if count:
            bucket.inc(count)


# -- reload outcomes, from the reloader's log records --------------------------------------


class ReloadCounter(logging.Handler):
    """Count `reload` / `reload_refused` events of the rightsgate.reload logger."""

    def emit(self, record: logging.LogRecord) -> None:
        event = getattr(record, "event", None)
        if event == "reload":
            RELOADS.labels("ok").inc()
        elif event in ("reload_refused", "reload_failed"):
            RELOADS.labels("refused").inc()


def install_reload_counter() -> None:
    """Attach the counter to rightsgate.reload once per process."""
    logger = logging.getLogger("rightsgate.reload")
    if not any(isinstance(h, ReloadCounter) for h in logger.handlers):
        logger.addHandler(ReloadCounter())


# -- worker life cycle and exposition ------------------------------------------------------


def worker_started() -> None:
    """In each new worker: count reloads (the master marks the worker dead when it ends)."""
    install_reload_counter()
    RELOADS.labels("ok").inc(0)  # both outcomes are exported from the start
    RELOADS.labels("refused").inc(0)


def exposition() -> tuple[bytes, str]:
    """The current metrics in Prometheus text format (all workers' in multiprocess mode)."""
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    if MULTIPROC:
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def start_metrics_server(host: str, port: int) -> Any:
    """Serve /metrics on host:port from a thread of this process (the server's master)."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?", 1)[0] != "/metrics":
                self.send_error(404)
                return
            body, content_type = exposition()
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return  # no access log (paths can carry anything)

    httpd = ThreadingHTTPServer((host, port), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, name="rightsgate-metrics", daemon=True).start()
    return httpd

