"""The request journal: one entry per request, recorded on the request path, written off it.

The front (api.front) records every request it answers, itself or through Flask, as
one tuple:

    (wall time, method, PATH_INFO, status or None, seconds, ruleset, jurisdiction, locale)

Method and path are the client's own words here; the sinks turn them into a known
method and a route template before anything leaves the process. The sinks are the
request log (api.logging.RequestLog) and, under the server, the Prometheus counters
(api.metrics.RequestMetrics): both take a batch of entries.

Why a journal: writing a log line (a write and a flush per request) and counting into
prometheus_client's memory-mapped files cost ~10 us and ~30 us per request, several
times what a remembered answer costs, and each is paid while the request holds the
GIL (bench/notes.md, section 2b). Recording is a deque append (atomic under the GIL);
the writing happens in batches:

- `flush_every == 0` (the default: tests, the CLI, any embedding host): each entry is
  written as soon as it is recorded, as a logging call would.
- `start_flushing(seconds)` (api/server.py, in each worker): one thread writes what
  has gathered every `seconds` (RIGHTSGATE_LOG_FLUSH_INTERVAL), and once more when
  the worker exits (a multiprocessing finalizer: it runs when a server's worker
  process ends, where atexit does not). Lines are then up to that long late, and a
  worker killed with SIGKILL loses at most that interval's lines, the trade nginx
  makes with `access_log ... buffer= flush=`.
"""

from __future__ import annotations

import logging
import multiprocessing.util
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

# (wall time, method, PATH_INFO, status or None, seconds, ruleset, jurisdiction, locale)
Entry = tuple[float, str, str, int | None, float, Any, Any, Any]
Sink = Callable[[Sequence[Entry]], None]

log = logging.getLogger("rightsgate.journal")
# Entries written per sink call; between chunks the flushing thread lets go of the GIL.
CHUNK = 256


class RequestJournal:
    """Entries recorded by the front, handed to every sink in batches."""

    def __init__(self, sinks: Sequence[Sink] = (), flush_every: float = 0.0) -> None:
        self.sinks: list[Sink] = list(sinks)
        self.pending: deque[Entry] = deque()
        self.flush_every = 0.0
        self._flush_lock = threading.Lock()
        if flush_every > 0:
            self.start_flushing(flush_every)

    def record(self, entry: Entry) -> None:
        """Keep `entry` for the sinks (at once when nothing flushes in the background)."""
        self.pending.append(entry)
        if not self.flush_every:
            self.flush()

    def add_sink(self, sink: Sink) -> None:
        """Send the coming batches to `sink` too."""
        self.sinks.append(sink)

    def flush(self) -> None:
        """Hand what has gathered to every sink, in chunks (an empty batch too: sinks may sync
        state)."""
        with self._flush_lock:
            pop = self.pending.popleft
            while True:
                batch: list[Entry] = []
                try:
                    for _ in range(CHUNK):
                        batch.append(pop())
                except IndexError:
                    pass
                for sink in self.sinks:
                    try:
                        sink(batch)
                    except Exception:  # one failing sink must not cost the others their entries
                        log.exception("request journal sink failed", extra={"event": "journal_sink_failed"})
                if len(batch) < CHUNK:
                    return
                # A second's worth of entries is milliseconds of work under the GIL: let the
                # request threads run between chunks, or it shows as a stall in their p99.
                time.sleep(0)

    def start_flushing(self, every: float) -> None:
        """From now on, write every `every` seconds from a thread, and once at exit."""
        if self.flush_every:
            return
        self.flush_every = every
        multiprocessing.util.Finalize(self, self.flush, exitpriority=10)
        threading.Thread(target=self._flush_forever, name="rightsgate-journal", daemon=True).start()

    def _flush_forever(self) -> None:
        while True:
            time.sleep(self.flush_every)
            self.flush()
