"""Prometheus metrics: requests, latency, rule set, reloads, caches (prometheus_client).

What is exported (names are stable; docs/deploy.md shows a scrape):

- `rightsgate_http_requests_total{route,method,status}`: route is the route template
  (`/v1/decision`), or `unmatched`; method a known HTTP method or `OTHER`.
- `rightsgate_http_request_duration_seconds{route}`: latency histogram.
- `rightsgate_ruleset_active{version}`: 1 for the version a live worker serves, else 0.
- `rightsgate_reloads_total{outcome}`: `ok` or `refused` (counted from the reloader's
  log events, so api/reload.py needs no hook).
- `rightsgate_cache_hits_total{cache}` / `rightsgate_cache_misses_total{cache}`: read
  from the active serving object's `stats()` (see `cache_stats`), exported with the
  request counts (see `RequestMetrics`).

Under a multi-process server, PROMETHEUS_MULTIPROC_DIR is set by api/server.py before
this module is imported (each worker writes its own files; the master calls
mark_process_dead for each worker it stops or loses). The metrics are served on their
own bind (RIGHTSGATE_METRICS_BIND) by the master, never on the public port.
"""

from __future__ import annotations

import logging
import os
import threading
from bisect import bisect_left
from collections.abc import Callable, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from .logging import known_method, route_template

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


# -- what one flush exports -----------------------------------------------------------------


def cache_stats(stats: dict[str, Any]) -> dict[str, tuple[int, int]]:
    """(hits, misses) per cache name, from a Serving's `stats()` (`<cache>_hits` and
    `<cache>_misses` numbers)."""
    out = {}
    for key, value in stats.items():
        if key.endswith("_hits") and isinstance(value, int):
            name = key[: -len("_hits")]
            misses = stats.get(f"{name}_misses", 0)
            out[name] = (value, misses if isinstance(misses, int) else 0)
    return out


class RequestMetrics:
    """The request journal's sink (api.journal) that counts requests into Prometheus.

    Each batch becomes one counter increment per distinct (route, method, status) and
    one histogram write per bucket and route; then the serving object's cache counters
    (which grow, and start again at 0 for a new rule set) become counter deltas, and
    the version gauge follows the active rule set. Counting each request into
    prometheus_client's memory-mapped files directly cost ~30 us per request, as much
    as the rest of a remembered answer (bench/notes.md). Under the server a batch is
    what gathered in RIGHTSGATE_LOG_FLUSH_INTERVAL (scrapes see requests up to that
    late), and the worker's last batch is written when it exits.
    """

    def __init__(self, stats: Callable[[], dict[str, Any]]) -> None:
        self.stats = stats  # the active Serving's stats(), whichever Serving is active now
        self.last: dict[str, tuple[int, int]] = {}
        self.version: str | None = None

    def __call__(self, entries: Sequence[tuple]) -> None:
        # Grouped by the raw (path, method, status) first: a batch holds few distinct ones.
        counts: dict[tuple, int] = {}
        latencies: dict[str, list[float]] = {}
        for _wall, method, path, status, seconds, *_ in entries:
            key = (path, method, status)
            counts[key] = counts.get(key, 0) + 1
            found = latencies.get(path)
            if found is None:
                latencies[path] = [seconds]
            else:
                found.append(seconds)
        by_labels: dict[tuple[str, str, str], int] = {}
        for (path, method, status), count in counts.items():
            labels = (route_template(path), known_method(method),
                      "000" if status is None else str(status))
            by_labels[labels] = by_labels.get(labels, 0) + count
        for labels, count in by_labels.items():
            REQUESTS.labels(*labels).inc(count)
        by_route: dict[str, list[float]] = {}
        for path, values in latencies.items():
            by_route.setdefault(route_template(path), []).extend(values)
        for route, values in by_route.items():
            _observe_many(LATENCY.labels(route), values)
        self._sync()

    def _sync(self) -> None:
        stats = self.stats()
        for name, (hits, misses) in cache_stats(stats).items():
            old_hits, old_misses = self.last.get(name, (0, 0))
            if (hits, misses) == (old_hits, old_misses) and name in self.last:
                continue  # an idle worker's flush writes nothing
            # A new rule set starts its counters at 0 again: count from there.
            CACHE_HITS.labels(name).inc(hits - old_hits if hits >= old_hits else hits)
            CACHE_MISSES.labels(name).inc(misses - old_misses if misses >= old_misses else misses)
            self.last[name] = (hits, misses)
        version = stats.get("version")
        if version != self.version:
            if self.version is not None:
                RULESET.labels(self.version).set(0)
            if isinstance(version, str):
                RULESET.labels(version).set(1)
            self.version = version


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

