"""Real gunicorn (the repo's gunicorn.conf.py, 2 workers) over real HTTP on loopback."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from ..conftest import REPO_ROOT
from .test_reload import break_policy, rename_access_right

pytestmark = pytest.mark.server

WORKERS = 2
BIRTHDATE = "1944-03-17"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(rules: Path, log: Path, interval: str = "0.25") -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "RIGHTSGATE_BIND": f"127.0.0.1:{port}", "RIGHTSGATE_RULES_DIR": str(rules),
           "RIGHTSGATE_WORKERS": str(WORKERS), "RIGHTSGATE_RELOAD_INTERVAL": interval}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--config", str(REPO_ROOT / "gunicorn.conf.py")],
            cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    return process, f"http://127.0.0.1:{port}"


def stop(process: subprocess.Popen) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
    return process.wait()


@contextmanager
def gunicorn(rules: Path, log: Path) -> Iterator[str]:
    process, base = start_gunicorn(rules, log)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, f"gunicorn exited early:\n{log.read_text()}"
            try:
                if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, f"gunicorn did not come up:\n{log.read_text()}"
            time.sleep(0.1)
        yield base
    finally:
        code = stop(process)
        assert code == 0, f"gunicorn did not stop cleanly ({code}):\n{log.read_text()}"


def health_by_worker(base: str, rounds: int = 16) -> dict[int, dict]:
    """Ask /healthz over many concurrent connections, so every worker answers some."""
    def ask(_: int) -> dict:
        with requests.Session() as session:
            return session.get(f"{base}/healthz", timeout=5).json()

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(ask, range(rounds)))
    return {answer["pid"]: answer for answer in answers}


def await_workers(base: str, check, what: str, timeout: float = 20) -> dict[int, dict]:
    """Poll until every worker seen satisfies `check` (and both workers were seen)."""
    deadline = time.monotonic() + timeout
    seen: dict[int, dict] = {}
    while True:
        for pid, answer in health_by_worker(base).items():
            seen[pid] = answer
        if len(seen) >= WORKERS and all(check(a) for a in seen.values()):
            return seen
        assert time.monotonic() < deadline, f"workers did not reach: {what}; saw {seen}"
        time.sleep(0.2)


def decisions(base: str, count: int = 12) -> list[requests.Response]:
    def ask(i: int) -> requests.Response:
        with requests.Session() as session:
            if i % 2:
                return session.post(f"{base}/v1/decision",
                                    json={"jurisdiction": "AT", "birthdate": BIRTHDATE}, timeout=5)
            return session.get(f"{base}/v1/decision",
                               params={"jurisdiction": "AT", "birthdate": BIRTHDATE}, timeout=5)

    with ThreadPoolExecutor(max_workers=6) as pool:
        return list(pool.map(ask, range(count)))


def assert_consistent(responses: list[requests.Response], version: str) -> None:
    for response in responses:
        assert response.status_code == 200
        body_version = response.json()["ruleset"]["version"]
        assert response.headers["ETag"].strip('"').split("-")[0] == body_version
        assert body_version == version


def test_gunicorn_serves_reloads_and_refuses_broken_rules(scratch_rules, tmp_path):
    log = tmp_path / "gunicorn.log"
    with gunicorn(scratch_rules, log) as base:
        workers = await_workers(base, lambda a: a["status"] == "ok", "up")
        (old,) = {a["ruleset"]["version"] for a in workers.values()}
        assert_consistent(decisions(base), old)

        # Conditional GET over HTTP.
        first = requests.get(f"{base}/v1/decision", params={"jurisdiction": "DE"}, timeout=5)
        again = requests.get(f"{base}/v1/decision", params={"jurisdiction": "DE"}, timeout=5,
                             headers={"If-None-Match": first.headers["ETag"]})
        assert again.status_code == 304

        # A rule change reaches every worker, while serving.
        rename_access_right(scratch_rules)
        switched = await_workers(base, lambda a: a["ruleset"]["version"] != old, "new version")
        (new,) = {a["ruleset"]["version"] for a in switched.values()}
        assert_consistent(decisions(base), new)
        stale = requests.get(f"{base}/v1/decision", params={"jurisdiction": "DE"}, timeout=5,
                             headers={"If-None-Match": first.headers["ETag"]})
        assert stale.status_code == 200

        # A broken rule set is refused by every worker; the new version keeps serving.
        break_policy(scratch_rules)
        refused = await_workers(base, lambda a: a["status"] == "degraded", "refused broken rules")
        for answer in refused.values():
            assert answer["ruleset"]["version"] == new
            problems = answer["reload"]["last_error"]["problems"]
            assert any(p["file"] == "policy.yaml" and p["line"] for p in problems)
        assert_consistent(decisions(base), new)

        # Errors over HTTP: a 2 MiB body, with and without Content-Length.
        big = b'{"pad": "' + b"x" * (2 * 1024 * 1024) + b'"}'
        headers = {"Content-Type": "application/json"}
        sized = requests.post(f"{base}/v1/decision", data=big, headers=headers, timeout=10)
        chunked = requests.post(f"{base}/v1/decision", headers=headers, timeout=10,
                                data=(big[i:i + 65536] for i in range(0, len(big), 65536)))
        assert "Content-Length" not in chunked.request.headers
        for response in (sized, chunked):
            assert response.status_code == 413
            assert response.headers["Content-Type"] == "application/problem+json"
        allowed = requests.delete(f"{base}/v1/decision", timeout=5)
        assert allowed.status_code == 405 and "POST" in allowed.headers["Allow"]

    text = log.read_text()
    assert "reload_refused" in text and "policy.yaml" in text
    assert BIRTHDATE not in text and "birthdate" not in text and "jurisdiction=" not in text
    assert "Traceback" not in text


def test_gunicorn_refuses_to_start_on_invalid_rules(scratch_rules, tmp_path):
    break_policy(scratch_rules)
    log = tmp_path / "gunicorn.log"
    process, _ = start_gunicorn(scratch_rules, log)
    try:
        code = process.wait(timeout=30)
    finally:
        stop(process)
    assert code != 0
    text = log.read_text()
    assert "rule set invalid" in text
    assert "policy.yaml:" in text
    assert "Booting worker" not in text
