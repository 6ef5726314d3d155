"""Memory per worker: RSS once its caches are full and after 120k requests (it must not grow).

api/server.py, as shipped, serves rightsgate on a loopback port; wrk replays
the request mix (GET and POST alternately) where every third request is a signup POST
with a birthdate never sent before, so the answer memo and the response cache keep
filling, emptying and evicting as they would under real traffic. Each worker's VmRSS
and Pss (/proc/<pid>/status, /proc/<pid>/smaps_rollup) is read after start, after a
first batch of requests (the caches full: each worker's memo of RIGHTSGATE_CACHE_SIZE
entries fills after ~25k requests of this mix) and after the total; growth is measured
between the last two.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from api.serving import ServingSettings
from engine import Snapshot

from .http_load import drive, start_server
from .mix import Request

# Smoke: a few hundred requests per step, enough to run both steps and read memory after each.
PARAMS = {"smoke": {"warm": 500, "total": 1_500}, "full": {"warm": 40_000, "total": 120_000}}


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
    """Serve, load in two steps, and read each worker's memory at start and after each step."""
    params = PARAMS["smoke" if smoke else "full"]
    work_dir.mkdir(parents=True, exist_ok=True)
    places = sorted(code for code in snapshot.tables if code != "DEFAULT")
    connections = 8
    server = start_server("memory", "wsgi:app", work_dir)
    readings: list[dict[str, Any]] = []
    sent = 0
    try:
        pids = server.worker_pids()
        readings.append({"after_requests": 0, "workers": {p: worker_memory(p) for p in pids}})
        for target in (params["warm"], params["total"]):
            # The load generator stops itself after `target - sent` responses.
            result = drive(server.port, mix, "MIXED", work_dir, duration=900, connections=connections,
                           limit=target - sent, churn_places=places, tag=f"memory-{target}")
            sent += result["requests"]
            readings.append({"after_requests": sent, "workers": {p: worker_memory(p) for p in pids},
                             "errors": result["errors"], "rps": result["rps"]})
        if server.worker_pids() != pids:
            raise RuntimeError("a worker was replaced during the memory run")
    finally:
        server.stop()
    if server.proc.returncode in (0, -15):
        server.log.unlink(missing_ok=True)
    first, warm, last = readings[0], readings[1], readings[-1]
    growth = {str(p): {"rss_mib": last["workers"][p]["rss_mib"] - warm["workers"][p]["rss_mib"],
                       "pss_mib": last["workers"][p].get("pss_mib", 0) - warm["workers"][p].get("pss_mib", 0)}
              for p in first["workers"]}
    return {"params": params, "cache_size": ServingSettings.cache_size,
            "readings": [{**r, "workers": {str(k): v for k, v in r["workers"].items()}}
                         for r in readings], "growth_warm_to_last": growth}
