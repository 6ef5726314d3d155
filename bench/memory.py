"""Memory per worker: RSS once its caches are full and after many more requests (it must not grow).

api/server.py, as shipped, serves rightsgate on a loopback port; wrk replays
the request mix (GET and POST alternately) where every third request is a signup POST
with a birthdate never sent before, so the answer memo and the response cache keep
filling, emptying and evicting as they would under real traffic.

Each worker is measured from its own warm point: granian's workers race to accept the
connections and one often serves nearly everything for a while, so a reading after N
requests in all says little about the other worker (a run read +50 MiB "growth" that
was a starved worker filling its caches late). The load goes in steps; after each, the
requests each worker served are counted from its request log lines (pid), and its VmRSS
and Pss (/proc/<pid>/status, /proc/<pid>/smaps_rollup) are read. A worker is warm once it
has served `warm` requests (its memo of RIGHTSGATE_CACHE_SIZE entries fills after ~25k of
this mix); growth is from that reading to the last, once every worker has served `more`
requests past its warm point.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from api.serving import ServingSettings
from engine import Snapshot

from .http_load import drive, start_server
from .mix import Request

PARAMS = {"smoke": {"warm": 300, "more": 600, "step": 600, "most": 20_000},
          "full": {"warm": 30_000, "more": 60_000, "step": 20_000, "most": 600_000}}
# A request log line (api.logging.RequestLog) names the worker that answered.
_REQUEST_LINE = re.compile(rb'"pid": (\d+), "message": "request"')
_FLUSHED = 0.6  # s: request lines are written every RIGHTSGATE_LOG_FLUSH_INTERVAL (0.2 s)


def served_by(log: Path, pids: Sequence[int]) -> dict[int, int]:
    """How many requests each worker has logged so far."""
    counts = Counter(int(pid) for pid in _REQUEST_LINE.findall(log.read_bytes()))
    return {pid: counts.get(pid, 0) for pid in pids}


def worker_memory(pid: int) -> dict[str, float]:
    """VmRSS and Pss of `pid`, in MiB."""
    out: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            out["rss_mib"] = int(line.split()[1]) / 1024
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                out["pss_mib"] = int(line.split()[1]) / 1024
    except OSError:
        pass
    return out


def run(mix: Sequence[Request], snapshot: Snapshot, work_dir: Path, *, smoke: bool) -> dict[str, Any]:
    """Serve, load in steps until every worker is warm and has served `more` requests past
    that, reading each worker's memory and requests served after every step."""
    params = PARAMS["smoke" if smoke else "full"]
    work_dir.mkdir(parents=True, exist_ok=True)
    places = sorted(code for code in snapshot.tables if code != "DEFAULT")
    server = start_server("memory", "wsgi:app", work_dir)
    readings: list[dict[str, Any]] = []
    warm_at: dict[int, int] = {}  # worker -> index of its warm reading
    sent = 0
    try:
        pids = server.worker_pids()
        readings.append({"after_requests": 0, "workers": {p: worker_memory(p) for p in pids},
                         "served": dict.fromkeys(pids, 0)})
        while sent < params["most"]:
            # The load generator stops itself after `step` responses.
            result = drive(server.port, mix, "MIXED", work_dir, duration=900, connections=8,
                           limit=params["step"], churn_places=places, tag=f"memory-{len(readings)}")
            sent += result["requests"]
            time.sleep(_FLUSHED)
            served = served_by(server.log, pids)
            readings.append({"after_requests": sent, "workers": {p: worker_memory(p) for p in pids},
                             "served": served, "errors": result["errors"], "rps": result["rps"]})
            for pid in pids:
                if pid not in warm_at and served[pid] >= params["warm"]:
                    warm_at[pid] = len(readings) - 1
            if len(warm_at) == len(pids) and all(
                    served[p] - readings[warm_at[p]]["served"][p] >= params["more"] for p in pids):
                break
        if server.worker_pids() != pids:
            raise RuntimeError("a worker was replaced during the memory run")
    finally:
        server.stop()
    if server.proc.returncode in (0, -15):
        server.log.unlink(missing_ok=True)
    last = readings[-1]
    growth = {}
    for pid in pids:
        if pid not in warm_at:  # starved for the whole run: reported, not measured
            growth[str(pid)] = None
            continue
        warm = readings[warm_at[pid]]
        growth[str(pid)] = {
            "rss_mib": last["workers"][pid]["rss_mib"] - warm["workers"][pid]["rss_mib"],
            "pss_mib": last["workers"][pid].get("pss_mib", 0) - warm["workers"][pid].get("pss_mib", 0),
            "from_served": warm["served"][pid], "to_served": last["served"][pid]}
    return {"params": params, "cache_size": ServingSettings.cache_size,
            "readings": [{**r, "workers": {str(k): v for k, v in r["workers"].items()},
                          "served": {str(k): v for k, v in r["served"].items()}} for r in readings],
            "growth_warm_to_last": growth}
