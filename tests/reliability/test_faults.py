"""Item 6 (and the start-up half of item 4): fault behaviour on real gunicorn.

(a) the rules directory disappears while serving;
(b) a rule file is caught half-written by the watcher;
(c) a worker is SIGKILLed with requests in flight;
(d) the server is started on an invalid rule set from the broken-rules corpus.

docs/reliability.md says, for each, what happens, why, and what an operator does.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from engine import BundleStore, RuleSetInvalid, load_snapshot

from ..conftest import RULES_DIR
from ..engine.helpers_rules import BROKEN_DIR, build_rules, read_expect
from ..engine.test_broken_rules import GENERATORS
from ..gunicorn_server import Server, etag_version, running

pytestmark = pytest.mark.server

INTERVAL = 0.2
SETTLE_SECONDS = 0.2  # api.reload.SETTLE_SECONDS, restated: the test is about that window
PROBE = {"jurisdiction": "AT", "age": 13}
MIN_AGE_13, MIN_AGE_14 = "minimum_signup_age: 13\n", "minimum_signup_age: 14\n"


# -- helpers ------------------------------------------------------------------------------


def write_atomic(path: Path, data: bytes) -> None:
    """Replace `path` in one step (a hidden temp file the watcher ignores, then rename)."""
    staging = path.with_name(f".{path.name}.tmp")
    staging.write_bytes(data)
    os.replace(staging, path)


def set_minimum_age_14(rules: Path) -> None:
    policy = rules / "policy.yaml"
    text = policy.read_text(encoding="utf-8")
    assert MIN_AGE_13 in text
    write_atomic(policy, text.replace(MIN_AGE_13, MIN_AGE_14).encode())


def probe(session: requests.Session, base: str) -> requests.Response:
    return session.get(f"{base}/v1/decision", params=PROBE, timeout=10)


def consistent_version(response: requests.Response) -> str:
    """Assert one answer is a 200 naming one version in body and ETag; return it."""
    assert response.status_code == 200, response.text[:300]
    version = response.json()["ruleset"]["version"]
    assert etag_version(response) == version
    return version


def await_events(tail, pids: set[int], wanted: Callable[[dict], bool], what: str,
                 timeout: float = 120) -> list[dict]:
    """Wait until each worker in `pids` has logged an event `wanted` accepts; return them."""
    deadline = time.monotonic() + timeout
    pending, matched = set(pids), []
    while pending:
        for event in tail.events():
            if event.get("pid") in pending and wanted(event):
                pending.discard(event["pid"])
                matched.append(event)
        if pending:
            assert time.monotonic() < deadline, f"workers {pending} did not {what}"
            time.sleep(0.05)
    return matched


def logged_reload_versions(server: Server) -> set[str]:
    """Every version any worker of `server` ever swapped in (from its whole log)."""
    versions = set()
    for line in server.stderr().splitlines():
        if line.startswith("{") and '"event": "reload"' in line:
            versions.add(json.loads(line)["version"])
    return versions


def reloaded_to(version: str) -> Callable[[dict], bool]:
    return lambda e: e.get("event") == "reload" and e.get("version") == version


def refused(e: dict) -> bool:
    return e.get("event") == "reload_refused"


class Prober:
    """A client thread that probes until stopped and records every version it was served."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.versions: list[str] = []
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="prober", daemon=True)

    def _run(self) -> None:
        with requests.Session() as session:
            while not self._stop.is_set():
                try:
                    self.versions.append(consistent_version(probe(session, self.base)))
                except (AssertionError, requests.RequestException, ValueError) as error:
                    self.failures.append(f"{type(error).__name__}: {error}"[:300])
                time.sleep(0.005)

    def __enter__(self) -> Prober:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


# -- (a) the rules directory disappears ---------------------------------------------------


def test_rules_directory_removed_while_serving(scratch_rules, tmp_path, shipped_snapshot):
    version_a = shipped_snapshot.version  # scratch_rules is a copy of the shipped rules
    with running(scratch_rules, tmp_path, workers=2, interval=INTERVAL) as server:
        pids = server.worker_pids()
        tail = server.tail()
        # Serve a newer set than the one the master loaded at start-up (A), as after any deploy.
        set_minimum_age_14(scratch_rules)
        # The workers and the master (which follows the files for the workers it forks later).
        (event, *_) = await_events(tail, pids | {server.pid}, lambda e: e.get("event") == "reload", "load B")
        version_b = event["version"]
        assert version_b != version_a

        away = scratch_rules.with_name("rules.away")
        with Prober(server.base) as prober:
            scratch_rules.rename(away)
            await_events(tail, pids, refused, "refuse the missing directory")
            degraded = server.await_workers(lambda a: a["status"] == "degraded", "report degraded")
            for answer in degraded.values():
                assert answer["ruleset"]["version"] == version_b  # still serving the last good set
                assert "rules directory not found" in answer["reload"]["last_error"]["summary"]
            time.sleep(3 * INTERVAL)
        assert not prober.failures, prober.failures[:5]
        assert set(prober.versions) == {version_b}, "the last good set keeps serving"

        # A worker replaced while the directory is gone cannot load the files: it takes up the
        # last set any worker activated (B, kept in the state directory), not the one the
        # master loaded at start-up (A); it says `degraded` (the files are missing).
        victim = min(pids)
        os.kill(victim, signal.SIGKILL)
        replaced = server.await_workers(lambda a: True, "replace the killed worker")
        (new_pid,) = set(replaced) - pids
        # Under granian the master follows the files too, so the new worker is forked with B
        # already ("files"); without that, it takes B up from the state directory ("state").
        assert replaced[new_pid]["ruleset"]["version"] == version_b
        assert replaced[new_pid]["ruleset"]["origin"] in ("files", "state")
        assert replaced[new_pid]["status"] == "degraded"
        survivors = set(replaced) & pids
        assert {replaced[pid]["ruleset"]["version"] for pid in survivors} == {version_b}

        # Restoring the directory brings every worker back to the files on disk (B).
        away.rename(scratch_rules)
        recovered = server.await_workers(
            lambda a: a["status"] == "ok" and a["ruleset"]["version"] == version_b, "recover")
        assert len(recovered) == 2
        with requests.Session() as session:
            for _ in range(20):
                assert consistent_version(probe(session, server.base)) == version_b
    assert "Traceback" not in server.stderr()


# -- (b) a file caught half-written -------------------------------------------------------


def write_slowly(path: Path, data: bytes, cut: int, pause: float) -> None:
    """Rewrite `path` in place as a slow writer would: the first `cut` bytes, a pause, the rest."""
    with path.open("wb") as handle:
        handle.write(data[:cut])
        handle.flush()
        os.fsync(handle.fileno())
        time.sleep(pause)
        handle.write(data[cut:])
        handle.flush()
        os.fsync(handle.fileno())


def _version_with(rules: Path, rel: str, data: bytes, tmp: Path,
                  bundles: BundleStore | None = None) -> str | None:
    """The version of `rules` with `rel` replaced by `data`, or None if that set is invalid."""
    trial = tmp / "trial"
    if trial.exists():
        shutil.rmtree(trial)
    shutil.copytree(rules, trial)
    (trial / rel).write_bytes(data)
    try:
        return load_snapshot(trial, bundles).version
    except RuleSetInvalid:
        return None


GDPR = "frameworks/gdpr.yaml"
LONG_PAUSE = 5.0  # many reload intervals: long enough for every worker to look at the half file


def gdpr_variants(tmp: Path) -> tuple[bytes, bytes]:
    """The shipped gdpr.yaml and one where Austria's digital age of consent is 15."""
    old = (RULES_DIR / GDPR).read_bytes()
    marker = (b"when: {jurisdiction: AT}\n    effective_from: 2018-05-25\n    then:\n      age_gate:\n"
              b"        digital_consent_age: 14\n")
    assert marker in old
    return old, old.replace(marker, marker.replace(b"age: 14", b"age: 15"))


def rule_boundary_cut(data: bytes) -> int:
    """The byte offset of the rule (`  - id:`) that starts nearest the middle of `data`."""
    starts = [i + 1 for i in range(len(data)) if data.startswith(b"\n  - id:", i)]
    return min(starts, key=lambda s: abs(s - len(data) // 2))


@pytest.mark.slow
def test_half_written_file_is_never_activated(scratch_rules, tmp_path, shipped_snapshot, server_bundles):
    """A slow in-place write is caught by the settle window (short pause) or refused as
    invalid (long pause, cut mid-line): only the old or the new full file is ever served."""
    old, new = gdpr_variants(tmp_path)
    version_old = shipped_snapshot.version  # scratch_rules is a copy of the shipped rules
    # Through the servers' bundle store: the workers' reloads to the new file load its bundle.
    version_new = _version_with(scratch_rules, GDPR, new, tmp_path, server_bundles)
    assert version_new not in (None, version_old)
    # A cut at a rule boundary leaves a *valid*, smaller rule set: only the settle window
    # can keep it from being activated, so this half may stay on disk for less than that.
    boundary = rule_boundary_cut(new)
    version_boundary_half = _version_with(scratch_rules, GDPR, new[:boundary], tmp_path, server_bundles)
    assert version_boundary_half not in (None, version_old, version_new)
    # A cut in the middle of a line is what buffered writers and copies leave; this one is
    # invalid, so validation refuses it however long it stays.
    middle = len(new) // 2
    while _version_with(scratch_rules, GDPR, new[:middle], tmp_path) is not None:
        middle += 7
        assert middle < len(new) * 0.6, "no invalid mid-line cut found near the middle"

    with running(scratch_rules, tmp_path, workers=2, interval=INTERVAL) as server:
        pids = server.worker_pids()
        tail = server.tail()
        target = scratch_rules / GDPR
        with Prober(server.base) as prober:
            # Short pauses (< settle window) at the valid rule-boundary cut, back and forth.
            for data, version in ((new, version_new), (old, version_old), (new, version_new),
                                  (old, version_old)):
                write_slowly(target, data, boundary, pause=SETTLE_SECONDS / 4)
                await_events(tail, pids, reloaded_to(version), "load the full file")
            # A long pause (several intervals) at the invalid mid-line cut: refused, then loaded.
            tail_mark = server.tail()
            tail_mark.skip_to_end()
            writer = threading.Thread(target=write_slowly, args=(target, new, middle, LONG_PAUSE))
            writer.start()
            await_events(tail_mark, pids, refused, "refuse the half file", timeout=LONG_PAUSE - 0.5)
            with requests.Session() as session:
                assert consistent_version(probe(session, server.base)) == version_old
            writer.join()
            await_events(tail_mark, pids, reloaded_to(version_new), "load the full file")
            time.sleep(2 * INTERVAL)
    assert logged_reload_versions(server) == {version_old, version_new}, "a half file was activated"
    assert not prober.failures, prober.failures[:5]
    assert set(prober.versions) == {version_old, version_new}
    assert version_boundary_half not in server.stderr()


# -- (c) a worker killed with requests in flight ------------------------------------------


def _read_response(sock: socket.socket) -> bytes:
    """Read one HTTP response with a Content-Length from `sock`."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, "connection closed before the headers"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "connection closed in the body"
        body += chunk
    return body


def retrying_session() -> requests.Session:
    """What docs/reliability.md recommends: retry GET and POST /v1/decision (both idempotent)."""
    session = requests.Session()
    retry = Retry(total=3, connect=3, read=3, status=0, backoff_factor=0.05,
                  allowed_methods=frozenset({"GET", "POST"}), raise_on_status=False)
    session.mount("http://", HTTPAdapter(max_retries=retry))
    return session


def test_worker_killed_mid_request(scratch_rules, tmp_path):
    with running(scratch_rules, tmp_path, workers=2, interval=INTERVAL) as server:
        pids = server.worker_pids()
        (version,) = {a["ruleset"]["version"] for a in server.await_workers(lambda a: True, "up").values()}

        # A request certainly in flight on a known worker: ask /healthz on a keep-alive
        # connection (the answer names the worker), then send half of a POST on it.
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n")
        victim = json.loads(_read_response(sock))["pid"]
        assert victim in pids
        body = b'{"jurisdiction": "AT", "age": 13}'
        sock.sendall(b"POST /v1/decision HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(body) + body[:10])

        stop = threading.Event()
        plain = {"errors": [], "ok": 0, "after_replacement_errors": []}
        retried = {"errors": [], "ok": 0}
        replaced_at: list[float] = []

        def run(session: requests.Session, tally: dict, index: int) -> None:
            with session:
                while not stop.is_set():
                    started = time.monotonic()
                    try:
                        if index % 2:
                            response = session.post(f"{server.base}/v1/decision", json=PROBE, timeout=10)
                        else:
                            response = session.get(f"{server.base}/v1/decision", params=PROBE, timeout=10)
                        assert consistent_version(response) == version
                        tally["ok"] += 1
                    except (requests.RequestException, AssertionError) as error:
                        tally["errors"].append(f"{type(error).__name__}: {error}"[:200])
                        if replaced_at and started > replaced_at[0] and "after_replacement_errors" in tally:
                            tally["after_replacement_errors"].append(str(error)[:200])

        threads = [threading.Thread(target=run, args=(requests.Session(), plain, i), daemon=True)
                   for i in range(3)]
        threads += [threading.Thread(target=run, args=(retrying_session(), retried, i), daemon=True)
                    for i in range(3)]
        for thread in threads:
            thread.start()
        try:
            time.sleep(0.5)
            os.kill(victim, signal.SIGKILL)
            killed_at = time.monotonic()
            # The half-sent request dies with its worker: the client sees the connection go.
            try:
                answer = sock.recv(65536)
            except ConnectionResetError:
                answer = b""
            assert answer == b"", "the in-flight request on the killed worker was answered"
            sock.close()
            # The master replaces the worker.
            while True:
                current = server.worker_pids()
                if victim not in current and len(current) == 2:
                    break
                assert time.monotonic() - killed_at < 15, "the master did not replace the worker"
                time.sleep(0.02)
            replaced_at.append(time.monotonic())
            (new_pid,) = current - pids
            time.sleep(2.0)  # keep the clients going against the replacement
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=30)

        after = server.await_workers(lambda a: a["ruleset"]["version"] == version and a["status"] == "ok",
                                     "serve the same version")
        assert new_pid in after
    replacement_seconds = replaced_at[0] - killed_at
    print(f"worker kill: replaced in {replacement_seconds:.2f} s; plain clients {plain['ok']} ok, "
          f"{len(plain['errors'])} connection errors; retrying clients {retried['ok']} ok, "
          f"{len(retried['errors'])} errors")
    assert not retried["errors"], retried["errors"]
    assert not plain["after_replacement_errors"], plain["after_replacement_errors"]
    assert len(plain["errors"]) <= 3, plain["errors"]  # at most the requests in flight at the kill
    assert all("Connection" in error for error in plain["errors"]), plain["errors"]
    assert plain["ok"] > 100 and retried["ok"] > 100
    log = server.stderr()
    assert f'"pid": {new_pid}, "message": "worker ready"' in log


# -- (d) start-up on an invalid rule set --------------------------------------------------


STARTUP_CASES = ["alias_bomb", "python_tag", "too_large_50mb", "non_utf8", "yaml_syntax_error"]


@pytest.mark.parametrize("case", STARTUP_CASES)
def test_invalid_rules_stop_the_server_at_start_up(case, tmp_path):
    case_dir = BROKEN_DIR / case
    expect = read_expect(case_dir)
    rules = build_rules(case_dir, tmp_path)
    post_check = GENERATORS[expect["generate"]](rules, tmp_path) if "generate" in expect else None

    server = Server(rules, tmp_path, workers=2, interval=INTERVAL)
    started = time.monotonic()
    server.start()
    code = server.wait_exit(timeout=30)
    seconds = time.monotonic() - started
    if post_check is not None:
        post_check()
    err = server.stderr()
    assert code != 0
    assert "rightsgate: refusing to start: rule set invalid" in err
    where = f"{expect['file']}:{expect['line']}" if expect["line"] else f"{expect['file']}:"
    assert where in err, err[-3000:]
    assert expect["message"] in err
    assert "worker ready" not in err and "Traceback" not in err
    assert seconds < 15, f"took {seconds:.1f} s to refuse"
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{server.base}/healthz", timeout=2)
