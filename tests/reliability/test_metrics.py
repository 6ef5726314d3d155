"""Prometheus metrics of a real multi-worker server (multiprocess mode), on their own bind.

Requests by route template and status, the latency histogram, the active rule-set
version, reload outcomes and cache hits/misses, summed over every worker by the
master; never served on the public port.
"""

from __future__ import annotations

import re
import signal
import time

import pytest
import requests

from api.metrics import cache_stats

from ..gunicorn_server import free_port, running


def scrape(port: int) -> dict[str, float]:
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def value(metrics: dict[str, float], name: str, **labels: str) -> float:
    """Sum of the samples of `name` whose labels include `labels`."""
    total = 0.0
    for key, number in metrics.items():
        base, _, rest = key.partition("{")
        if base != name:
            continue
        have = dict(re.findall(r'(\w+)="([^"]*)"', rest))
        if all(have.get(k) == v for k, v in labels.items()):
            total += number
    return total



def hup_and_wait(server, workers: int = 2) -> set[int]:
    """Send the master a HUP and wait until every worker is a new one; return the old pids."""
    old_pids = server.worker_pids()
    server.process.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 60
    while server.worker_pids() & old_pids or len(server.worker_pids()) != workers:
        assert time.monotonic() < deadline, "the HUP did not replace every worker"
        time.sleep(0.05)
    return old_pids

@pytest.mark.server
@pytest.mark.slow
def test_metrics_sum_every_worker_and_follow_reloads(scratch_rules, tmp_path):
    metrics_port = free_port()
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_1.db").write_bytes(b"left over by a previous run")  # must be cleaned
    env = {"RIGHTSGATE_METRICS_BIND": f"127.0.0.1:{metrics_port}", "RIGHTSGATE_METRICS_DIR": str(metrics_dir)}
    with running(scratch_rules, tmp_path, workers=2, interval=0.2, env=env) as server:
        assert requests.get(f"{server.base}/metrics", timeout=10).status_code == 404  # not public
        before = scrape(metrics_port)
        old_version = next(iter(server.health_by_worker().values()))["ruleset"]["version"]
        sent = 0
        pids = set()
        for _ in range(3):  # fresh connections: both workers answer some
            for place in ("AT", "DE", "US-CA", "FR"):
                with requests.Session() as s:
                    answer = s.get(f"{server.base}/v1/decision", params={"jurisdiction": place}, timeout=10)
                    assert answer.status_code == 200
                    sent += 1
                    pids.add(s.get(f"{server.base}/healthz", timeout=10).json()["pid"])
        assert requests.get(f"{server.base}/nowhere/1911-04-23", timeout=10).status_code == 404
        time.sleep(1.1)  # each worker exports its counts and cache statistics every second
        policy = scratch_rules / "policy.yaml"
        original = policy.read_text()
        policy.write_text(original.replace("minimum_signup_age: 13", "minimum_signup_age: 12"))
        server.await_workers(lambda a: a["ruleset"]["version"] != old_version, "load the edit")
        # The master follows the files too (for the workers it forks on HUP): let it load
        # the edit before breaking the files, or it keeps the start-up set.
        deadline = time.monotonic() + 60
        master_reloaded = f'"pid": {server.pid}, "message": "reloaded", "event": "reload"'
        while master_reloaded not in server.stderr():
            assert time.monotonic() < deadline, "the master did not load the edit"
            time.sleep(0.1)
        policy.write_text(original.replace("minimum_signup_age: 13", "minimum_signup_agee: 13"))
        server.await_workers(lambda a: a["status"] == "degraded", "refuse the broken edit")
        new_version = next(iter(server.health_by_worker().values()))["ruleset"]["version"]
        time.sleep(1.1)  # the workers' next export
        after = scrape(metrics_port)

        # A HUP replaces the workers: counters survive, gauges of dead workers go.
        old_pids = hup_and_wait(server)
        requests.get(f"{server.base}/healthz", timeout=10)
        restarted = scrape(metrics_port)
        files = {path.name for path in metrics_dir.iterdir()}

    assert len(pids) == 2, "one worker answered everything: the sum is not shown to span workers"
    decisions = value(after, "rightsgate_http_requests_total", route="/v1/decision", status="200",
                      method="GET")
    assert decisions - value(before, "rightsgate_http_requests_total", route="/v1/decision") == sent
    # /metrics asked on the public port, and /nowhere/...: both unmatched 404s
    assert value(after, "rightsgate_http_requests_total", route="unmatched", status="404") == 2
    assert "1911" not in str(after)
    assert value(after, "rightsgate_http_request_duration_seconds_count", route="/v1/decision") >= sent
    assert value(after, "rightsgate_http_request_duration_seconds_bucket", route="/v1/decision",
                 le="+Inf") >= sent
    assert value(after, "rightsgate_reloads_total", outcome="ok") >= 2  # each worker
    assert value(after, "rightsgate_reloads_total", outcome="refused") >= 2
    assert value(after, "rightsgate_ruleset_active", version=new_version) == 1
    assert value(after, "rightsgate_ruleset_active", version=old_version) == 0
    assert value(after, "rightsgate_cache_misses_total") > 0
    # Counters of the replaced workers are kept; the live-only gauge shows the new ones.
    assert value(restarted, "rightsgate_http_requests_total", route="/v1/decision") >= decisions
    assert value(restarted, "rightsgate_ruleset_active", version=new_version) == 1
    assert "counter_1.db" not in files
    assert not {f"gauge_livemax_{pid}.db" for pid in old_pids} & files  # marked dead by the master
    assert {f"counter_{pid}.db" for pid in old_pids} <= files  # their counts are kept


def test_cache_statistics_come_from_the_serving_objects_stats(app):
    client = app.test_client()
    for _ in range(2):
        assert client.get("/v1/decision?jurisdiction=DE&locale=fr").status_code == 200
    today = cache_stats(app.extensions["rightsgate"].serving.stats())
    assert {"body", "memo"} <= set(today) and sum(today["body"]) >= 1
    assert cache_stats({"version": "v", "memo_hits": 5, "memo_misses": 2, "body_hits": 1, "body_misses": 4,
                        "memo_entries": 3}) == {"memo": (5, 2), "body": (1, 4)}


def test_batched_latencies_export_what_one_observe_per_request_would():
    """`_observe_many` (one write per bucket) equals prometheus_client's own `observe`."""
    from prometheus_client import CollectorRegistry, Histogram

    from api.metrics import BUCKETS, _observe_many

    values = [0.0, 0.0004, 0.0005, 0.00051, 0.001, 0.003, 0.02, 0.5, 2.5, 9.9, 10.0, 11.0, 0.07, 0.0005]

    def samples(fill) -> list[tuple[str, dict, float]]:
        registry = CollectorRegistry()
        histogram = Histogram("h", "test", ("route",), buckets=BUCKETS, registry=registry)
        fill(histogram.labels("/v1/decision"))
        return [(s.name, s.labels, s.value) for m in registry.collect() for s in m.samples
                if not s.name.endswith("_created")]

    def one_by_one(child) -> None:
        for value in values:
            child.observe(value)

    batched = samples(lambda child: _observe_many(child, values))
    assert batched == samples(one_by_one)
    assert ("h_count", {"route": "/v1/decision"}, float(len(values))) in batched


def test_requests_are_counted_when_flushed_not_lost():
    """Every request the journal records is exported at its next flush, by route and status."""
    from api.journal import RequestJournal
    from api.metrics import REGISTRY, RequestMetrics

    def count(route: str, method: str, status: str) -> float:
        return REGISTRY.get_sample_value("rightsgate_http_requests_total",
                                         {"route": route, "method": method, "status": status}) or 0.0

    journal = RequestJournal([RequestMetrics(lambda: {"version": "v1", "memo_hits": 0, "memo_misses": 0})])
    journal.start_flushing(3600)  # buffered; the thread's first flush is an hour away
    labels = [("/healthz", "GET", "200"), ("unmatched", "GET", "404"), ("/healthz", "OTHER", "000")]
    before = [count(*label) for label in labels]
    for path, method, status in [("/healthz", "GET", 200)] * 7 + [("/nowhere/1911-04-23", "GET", 404)] * 3 + [
            ("/healthz", "AGE97", None)]:
        journal.record((time.time(), method, path, status, 0.0002, "v1", None, None))
    assert [count(*label) for label in labels] == before
    journal.flush()
    assert [count(*label) - old for label, old in zip(labels, before, strict=True)] == [7, 3, 1]
    assert REGISTRY.get_sample_value("rightsgate_ruleset_active", {"version": "v1"}) == 1


@pytest.mark.server
@pytest.mark.slow
def test_requests_just_before_a_hup_are_counted(scratch_rules, tmp_path):
    """Workers gather counts for up to a second; the workers a HUP replaces export theirs."""
    port = free_port()
    env = {"RIGHTSGATE_METRICS_BIND": f"127.0.0.1:{port}",
           "RIGHTSGATE_METRICS_DIR": str(tmp_path / "metrics")}
    with running(scratch_rules, tmp_path, workers=2, interval=0.2, env=env) as server:
        before = value(scrape(port), "rightsgate_http_requests_total", route="/v1/decision")
        for _ in range(20):
            with requests.Session() as session:  # fresh connections: both workers answer
                answer = session.get(f"{server.base}/v1/decision", params={"jurisdiction": "AT"}, timeout=10)
                assert answer.status_code == 200
        hup_and_wait(server)
        after = value(scrape(port), "rightsgate_http_requests_total", route="/v1/decision")
    assert after - before == 20
