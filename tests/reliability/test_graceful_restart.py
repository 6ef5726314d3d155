"""Issue 15, finding 3: a graceful restart (SIGHUP to the master) must not stall traffic.

Each old worker keeps serving until its replacement is up, then finishes what it has
in flight; clients that keep asking all the way through see no failure and no long
wait. Real server on loopback (what scripts/serve runs), 2 workers.
"""

from __future__ import annotations

import signal
import threading
import time

import pytest
import requests
from requests.adapters import HTTPAdapter
from urllib3.util import Retry

from ..gunicorn_server import running


@pytest.mark.server
@pytest.mark.slow
def test_sighup_replaces_every_worker_without_failures_or_stalls(scratch_rules, tmp_path):
    with running(scratch_rules, tmp_path, workers=2, interval=0) as server:
        before = server.worker_pids()
        old_version = server.health_by_worker()
        # The usual reason for a HUP: the files changed (no watcher here, interval 0), so
        # each new worker must load and compile them (~0.5 s) before it can serve.
        policy = scratch_rules / "policy.yaml"
        policy.write_text(policy.read_text().replace("minimum_signup_age: 13", "minimum_signup_age: 12"))
        stop = threading.Event()
        latencies: list[float] = []
        failures: list[str] = []
        pids_seen: set[int] = set()

        def retrying_session() -> requests.Session:
            # An old worker closes the connections it holds without a request in progress
            # when it stops (idle keep-alive ones, and one it accepted an instant before);
            # a request sent on one at that instant gets no answer, and clients retry it on
            # a new connection (RFC 9110 9.2.2, as browsers and proxies do for idempotent
            # requests). Only that is retried, once: no status, no connect error.
            session = requests.Session()
            retry = Retry(total=1, connect=0, read=1, status=0, other=0, backoff_factor=0)
            session.mount("http://", HTTPAdapter(max_retries=retry))
            return session

        def client(fresh_connections: bool) -> None:
            session = retrying_session()
            while not stop.is_set():
                if fresh_connections:
                    session.close()
                    session = retrying_session()
                started = time.perf_counter()
                try:
                    answer = session.get(f"{server.base}/healthz", timeout=10)
                    if answer.status_code != 200:
                        failures.append(str(answer.status_code))
                    else:
                        pids_seen.add(answer.json()["pid"])
                except requests.RequestException as error:
                    failures.append(repr(error))
                latencies.append(time.perf_counter() - started)
            session.close()

        threads = [threading.Thread(target=client, args=(fresh,)) for fresh in (True, True, False, False)]
        for thread in threads:
            thread.start()
        time.sleep(1.0)
        server.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 30
        while True:
            current = server.worker_pids()
            if len(current) == 2 and not current & before:
                break
            assert time.monotonic() < deadline, f"workers not replaced: {before} -> {current}"
            time.sleep(0.05)
        time.sleep(1.0)  # keep asking the new workers
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        after = server.worker_pids()
        new_version = server.health_by_worker()

    print(f"HUP: {len(latencies)} requests, max {max(latencies) * 1000:.0f} ms, "
          f"{len(failures)} failures; workers {sorted(before)} -> {sorted(after)}")
    assert {a["ruleset"]["version"] for a in new_version.values()} != {
        a["ruleset"]["version"] for a in old_version.values()}, "the new workers did not load the new rules"
    assert not failures, failures[:5]
    assert pids_seen & after, "the new workers never answered"
    assert pids_seen & before, "the old workers never answered"
    # A stall is a request waiting for workers to come up (seconds); none may.
    assert max(latencies) < 1.0
