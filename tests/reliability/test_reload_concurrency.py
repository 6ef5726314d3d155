"""Item 3: concurrency under reload, on the real server (api/server.py) over loopback.

Three workers (api/server.py, as scripts/serve runs it) serve a rules directory that
is a symlink; a switcher swaps it atomically between two valid rule sets A and B and
an invalid one C, in the order B, C, A, B, C, A, ..., and waits after each swap until
every worker has logged that it took the change (A, B) or refused it (C). Meanwhile
client threads send a probe whose answer tells the versions apart: in Austria a
13-year-old needs a parent's consent under A (minimum signup age 13) and is blocked
under B (minimum signup age 14).

Every answer must be a 200 whose body version equals the version in its ETag, whose
content is that version's, and whose version is A's or B's (C's can never be served:
it does not load). Connection errors count as failures. The master's worker PIDs must
be the same before and after (no crash, no restart), and once every variant has been
loaded (the first cycle: compiling a set leaves a worker's heap at its high-water mark,
~100 MiB above the start), each worker's RSS may not grow by more than MAX_RSS_GROWTH
over the remaining switches: a leak would grow it with every switch.
"""

from __future__ import annotations

import shutil
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from engine import RuleSetInvalid, load_snapshot

from ..conftest import RULES_DIR
from ..gunicorn_server import etag_version, rss_bytes, running, swap_symlink

pytestmark = [pytest.mark.server, pytest.mark.slow]

WORKERS = 3
INTERVAL = 0.2
CLIENTS = 4
MIN_REQUESTS = 20_000
MAX_REQUESTS = 400_000  # a bound, never reached in practice
# B, C, A x 4: 8 reloads and 4 refusals. Each reload compiles the full rule set (114 places,
# ~11k input classes: seconds of CPU per worker on 2 cores), so fewer switches than when the
# rules were a tenth of that; every switch is still checked under load.
SWITCHES = 12
SWITCH_TIMEOUT = 90.0
DEADLINE = 480.0  # the whole run, switching and clients: a hang guard, not a speed target
MAX_RSS_GROWTH = 50 * 2**20
PROBE = {"jurisdiction": "AT", "age": 13}
LANGUAGES = ("en", "de", "fr-CA")


def make_variants(root: Path) -> dict[str, Path]:
    """A = the shipped rules; B = minimum signup age 14; C = a schema error in policy.yaml."""
    variants = {}
    for name in "ABC":
        variants[name] = root / f"rules-{name}"
        shutil.copytree(RULES_DIR, variants[name])
    policy_b = variants["B"] / "policy.yaml"
    text = policy_b.read_text(encoding="utf-8")
    assert "minimum_signup_age: 13\n" in text
    policy_b.write_text(text.replace("minimum_signup_age: 13\n", "minimum_signup_age: 14\n"),
                        encoding="utf-8")
    policy_c = variants["C"] / "policy.yaml"
    policy_c.write_text(policy_c.read_text(encoding="utf-8").replace(
        "minimum_signup_age:", "minimum_signup_agee:"), encoding="utf-8")
    return variants


@dataclass
class Tally:
    requests: int = 0
    by_version: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)


def check_answer(response: requests.Response, expected: dict[str, str]) -> str | None:
    """Return what is wrong with one probe answer, or None."""
    if response.status_code != 200:
        return f"status {response.status_code}: {response.text[:200]}"
    if response.headers.get("Content-Type") != "application/json":
        return f"content type {response.headers.get('Content-Type')}"
    body = response.json()
    version = body["ruleset"]["version"]
    if etag_version(response) != version:
        return f"ETag {response.headers['ETag']} but body version {version}"
    if version not in expected:
        return f"version {version} is neither A nor B"
    status = body["age_gate"]["status"]
    if status != expected[version]:
        return f"version {version} answered {status}, expected {expected[version]}"
    return None


class Pace:
    """Spread the requests over the switching: the clients may run ahead of a budget that
    grows with the switches done, not flood the CPU the workers need to load rules."""

    def __init__(self, tallies: list[Tally]) -> None:
        self.tallies = tallies
        self.switches_done = 0
        self.unlimited = False

    def total(self) -> int:
        return sum(t.requests for t in self.tallies)

    def ahead(self) -> bool:
        budget = MIN_REQUESTS * 1.1 * (self.switches_done + 1) / SWITCHES + 500
        return not self.unlimited and self.total() >= budget


def client(base: str, index: int, tally: Tally, stop: threading.Event, expected: dict[str, str],
           pace: Pace) -> None:
    session = requests.Session()
    sent = 0
    try:
        while not stop.is_set():
            if pace.ahead():
                time.sleep(0.005)
                continue
            if sent and sent % 500 == 0:
                # New connections now and then, so each client meets every worker.
                session.close()
                session = requests.Session()
            headers = {"Accept-Language": LANGUAGES[(index + sent) % len(LANGUAGES)]}
            try:
                if (index + sent) % 2:
                    response = session.post(f"{base}/v1/decision", json=PROBE, headers=headers, timeout=30)
                else:
                    response = session.get(f"{base}/v1/decision", params=PROBE, headers=headers, timeout=30)
                problem = check_answer(response, expected)
                if problem is None:
                    tally.by_version[response.json()["ruleset"]["version"]] += 1
            except (requests.RequestException, ValueError, KeyError) as error:
                problem = f"{type(error).__name__}: {error}"
            sent += 1
            tally.requests += 1
            if problem is not None:
                tally.failures.append(problem)
    finally:
        session.close()


def await_each_worker(tail, pids: set[int], wanted, what: str) -> float:
    """Wait until every worker in `pids` logged an event that `wanted` accepts; return the wait."""
    started = time.monotonic()
    pending = set(pids)
    while pending:
        for event in tail.events():
            if event.get("pid") in pending and wanted(event):
                pending.discard(event["pid"])
        if not pending:
            break
        assert time.monotonic() - started < SWITCH_TIMEOUT, f"workers {pending} did not {what}"
        time.sleep(0.05)
    return time.monotonic() - started


def test_answers_stay_consistent_while_rules_switch_under_load(tmp_path, shipped_snapshot, server_bundles):
    variants = make_variants(tmp_path)
    version_a = shipped_snapshot.version  # A is a copy of the shipped rules
    # Through the servers' bundle store: B is compiled at most once per session (the
    # reload tests make the same edit), and every worker's reload to it loads that bundle.
    version_b = load_snapshot(variants["B"], server_bundles).version
    assert version_a != version_b
    with pytest.raises(RuleSetInvalid):
        load_snapshot(variants["C"])
    expected = {version_a: "parental_consent_required", version_b: "blocked"}
    versions = {"A": version_a, "B": version_b}

    link = tmp_path / "rules"
    link.symlink_to(variants["A"], target_is_directory=True)
    with running(link, tmp_path, workers=WORKERS, interval=INTERVAL) as server:
        pids_before = server.worker_pids()
        assert len(pids_before) == WORKERS
        # /healthz names the answering worker: every worker the master has answers, as `ok`.
        assert set(server.await_workers(lambda a: a["status"] == "ok", "be up")) == pids_before
        tail = server.tail()
        # Warm up: every worker answers (and caches) the probe before RSS is read.
        for _ in range(60):
            with requests.Session() as session:
                assert check_answer(session.get(f"{server.base}/v1/decision", params=PROBE, timeout=10),
                                    expected) is None
        rss_start = {pid: rss_bytes(pid) for pid in pids_before}
        rss_before: dict[int, int] = {}  # after the first cycle B, C, A

        tallies = [Tally() for _ in range(CLIENTS)]
        pace = Pace(tallies)
        stop = threading.Event()
        threads = [threading.Thread(target=client, args=(server.base, i, tallies[i], stop, expected, pace),
                                    name=f"client-{i}", daemon=True) for i in range(CLIENTS)]
        started = time.monotonic()
        for thread in threads:
            thread.start()

        reloads = refusals = 0
        waits = []
        rss_peak = dict(rss_start)
        try:
            for switch in range(SWITCHES):
                name = "BCA"[switch % 3]
                tail.skip_to_end()
                swap_symlink(link, variants[name])
                if name == "C":
                    waits.append(await_each_worker(
                        tail, pids_before, lambda e: e.get("event") == "reload_refused", "refuse C"))
                    refusals += 1
                else:
                    version = versions[name]
                    waits.append(await_each_worker(
                        tail, pids_before,
                        lambda e, v=version: e.get("event") == "reload" and e.get("version") == v,
                        f"load {name}"))
                    reloads += 1
                pace.switches_done = switch + 1
                for pid in pids_before:
                    rss_peak[pid] = max(rss_peak[pid], rss_bytes(pid))
                if switch == 2:
                    rss_before = {pid: rss_bytes(pid) for pid in pids_before}
                assert time.monotonic() - started < DEADLINE, "switching took too long"
            switched_in = time.monotonic() - started
            pace.unlimited = True
            # Keep the clients going until they have sent enough, within the deadline.
            while sum(t.requests for t in tallies) < MIN_REQUESTS:
                assert time.monotonic() - started < DEADLINE, "clients too slow"
                assert sum(t.requests for t in tallies) < MAX_REQUESTS
                time.sleep(0.1)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=60)
        duration = time.monotonic() - started
        assert not any(thread.is_alive() for thread in threads)

        # The last switch was to A: every worker serves A, healthy.
        final = server.await_workers(lambda a: a["status"] == "ok", "be ok after the last switch")
        assert {a["ruleset"]["version"] for a in final.values()} == {version_a}
        pids_after = server.worker_pids()
        assert set(final) == pids_after
        rss_after = {pid: rss_bytes(pid) for pid in pids_before if pid in pids_after}

    total = sum(t.requests for t in tallies)
    failures = [f for t in tallies for f in t.failures]
    served = Counter()
    for t in tallies:
        served.update(t.by_version)
    growth = {pid: rss_after[pid] - rss_before[pid] for pid in rss_after}
    first_cycle = max(rss_before[pid] - rss_start[pid] for pid in rss_before)
    summary = (f"reload concurrency: {total} requests from {CLIENTS} clients to {WORKERS} workers, "
               f"{SWITCHES} switches ({reloads} reloads, {refusals} refused), {len(failures)} failures, "
               f"{duration:.1f} s (switching {switched_in:.1f} s, slowest switch {max(waits):.2f} s, "
               f"median {statistics.median(waits):.2f} s), "
               f"answers A/B {served[version_a]}/{served[version_b]}, worker RSS: first cycle +"
               f"{first_cycle / 2**20:.0f} MiB, then growth max {max(growth.values()) / 2**20:.1f} MiB "
               f"(peak {max(rss_peak.values()) / 2**20:.0f} MiB)")
    print(summary)

    assert not failures, f"{len(failures)} failed requests, first: {failures[:10]}"
    assert total >= MIN_REQUESTS
    assert reloads + refusals >= SWITCHES - 1 and refusals >= SWITCHES // 3 - 1
    assert served[version_a] and served[version_b]
    assert pids_after == pids_before, "a worker died or was replaced"
    assert all(g < MAX_RSS_GROWTH for g in growth.values()), growth
    log = server.stderr()
    assert "Traceback" not in log and "WORKER TIMEOUT" not in log and "reload_check_failed" not in log
    assert log.count('"message": "worker ready"') == WORKERS
