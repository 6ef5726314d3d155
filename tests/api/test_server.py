"""The real server (api/server.py, what scripts/serve runs; 2 workers) over real HTTP on loopback."""

from __future__ import annotations

import os
import shutil
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from ..conftest import REPO_ROOT
from ..gunicorn_server import Server, raw_exchange, running
from .test_reload import break_policy, rename_access_right

pytestmark = pytest.mark.server

WORKERS = 2
BIRTHDATE = "1944-03-17"


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
    with running(scratch_rules, tmp_path, workers=WORKERS, interval=0.25) as server:
        base = server.base
        workers = server.await_workers(lambda a: a["status"] == "ok", "up")
        (old,) = {a["ruleset"]["version"] for a in workers.values()}
        assert_consistent(decisions(base), old)

        # Conditional GET over HTTP.
        first = requests.get(f"{base}/v1/decision", params={"jurisdiction": "DE"}, timeout=5)
        again = requests.get(f"{base}/v1/decision", params={"jurisdiction": "DE"}, timeout=5,
                             headers={"If-None-Match": first.headers["ETag"]})
        assert again.status_code == 304

        # A rule change reaches every worker, while serving.
        rename_access_right(scratch_rules)
        switched = server.await_workers(lambda a: a["ruleset"]["version"] != old, "new version")
        (new,) = {a["ruleset"]["version"] for a in switched.values()}
        assert_consistent(decisions(base), new)
        stale = requests.get(f"{base}/v1/decision", params={"jurisdiction": "DE"}, timeout=5,
                             headers={"If-None-Match": first.headers["ETag"]})
        assert stale.status_code == 200

        # A broken rule set is refused by every worker; the new version keeps serving.
        break_policy(scratch_rules)
        refused = server.await_workers(lambda a: a["status"] == "degraded", "refused broken rules")
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

    text = server.stderr() + server.stdout()
    assert "reload_refused" in text and "policy.yaml" in text
    assert BIRTHDATE not in text and "birthdate" not in text and "jurisdiction=" not in text
    assert "Traceback" not in text


def test_gunicorn_refuses_to_start_on_invalid_rules(scratch_rules, tmp_path):
    break_policy(scratch_rules)
    server = Server(scratch_rules, tmp_path, workers=WORKERS).start()
    try:
        code = server.wait_exit(timeout=30)
    finally:
        server.stop()
    assert code != 0
    text = server.stderr() + server.stdout()
    assert "rule set invalid" in text
    assert "policy.yaml:" in text
    assert "worker ready" not in text


def test_hup_never_goes_back_to_an_older_rule_set(scratch_rules, tmp_path):
    """Issue 15, finding 2: after HUP, or a worker replaced while the files are invalid, every
    worker serves the newest set any worker activated, not the one the master loaded."""
    with running(scratch_rules, tmp_path, workers=WORKERS, interval=0.25) as server:
        up = server.await_workers(lambda a: a["status"] == "ok", "up")
        (loaded,) = {a["ruleset"]["version"] for a in up.values()}
        rename_access_right(scratch_rules)
        switched = server.await_workers(lambda a: a["ruleset"]["version"] != loaded, "activate the edit")
        (edited,) = {a["ruleset"]["version"] for a in switched.values()}
        break_policy(scratch_rules)
        server.await_workers(lambda a: a["status"] == "degraded", "refuse the broken files")

        old = server.worker_pids()
        os.kill(server.pid, signal.SIGHUP)
        deadline = time.monotonic() + 30
        while server.worker_pids() & old or len(server.worker_pids()) != WORKERS:
            assert time.monotonic() < deadline, "HUP did not replace the workers"
            time.sleep(0.1)
        fresh = server.await_workers(lambda a: True, "new workers answer")
        assert not set(fresh) & old
        for answer in fresh.values():
            assert answer["ruleset"]["version"] == edited, "a new worker went back in time"
            # (Its origin is "state", or "files" when the master's own watcher had already
            # loaded the edit before the files broke: both are the newest activated set.)
            assert answer["status"] == "degraded"  # the files on disk are still refused
        assert_consistent(decisions(server.base), edited)

        # A worker replaced (killed) while the files are invalid does the same.
        victim = min(fresh)
        os.kill(victim, signal.SIGKILL)
        replaced = server.await_workers(lambda a: True, "replace the killed worker")
        assert victim not in replaced
        assert {a["ruleset"]["version"] for a in replaced.values()} == {edited}

        # Fixed files are taken up by every worker, and /healthz says ok again.
        shutil.copy(REPO_ROOT / "rules" / "policy.yaml", scratch_rules / "policy.yaml")
        healed = server.await_workers(lambda a: a["status"] == "ok", "files fixed")
        assert {a["ruleset"]["version"] for a in healed.values()} == {edited}
        assert {a["ruleset"]["origin"] for a in healed.values()} == {"files"}
    assert "Traceback" not in server.stderr()


def test_http_basics_over_a_real_server(scratch_rules, tmp_path):
    """Issue 15, finding 8: HTTP/1.9 and a missing Host are 400, whoever answers; OPTIONS is 204."""
    with running(scratch_rules, tmp_path, workers=1, interval=0) as server:
        for request in (b"GET /healthz HTTP/1.9\r\nHost: x\r\nConnection: close\r\n\r\n",
                        b"GET /v1/decision?jurisdiction=DE HTTP/1.1\r\nConnection: close\r\n\r\n"):
            answer = raw_exchange(server.port, request)
            assert answer.split(b" ", 2)[1] == b"400", answer[:200]  # (gunicorn echoes HTTP/1.9)
            head = answer.split(b"\r\n\r\n", 1)[0].lower()
            if b"content-type" in head:  # the app's answer; the server's own 400 has no body
                assert b"application/problem+json" in head
        options = requests.options(f"{server.base}/v1/decision", timeout=5)
        assert options.status_code == 204
        assert "POST" in options.headers["Allow"] and "Content-Type" not in options.headers
        health = requests.get(f"{server.base}/healthz", timeout=5)
        assert str(tmp_path) not in health.text and str(REPO_ROOT) not in health.text


def test_the_real_server_keeps_a_set_whose_example_cases_fail_out(scratch_rules, tmp_path):
    """Issue 13, the reload gate, as shipped (off = the gate is closed): /healthz says why."""
    from .test_reload import raise_minimum_signup_age

    with running(scratch_rules, tmp_path, workers=WORKERS, interval=0.25,
                 env={"RIGHTSGATE_ACTIVATE_FAILING_CASES": "off"}) as server:
        up = server.await_workers(lambda a: a["status"] == "ok", "up")
        (loaded,) = {a["ruleset"]["version"] for a in up.values()}
        raise_minimum_signup_age(scratch_rules)
        refused = server.await_workers(lambda a: a["status"] == "degraded", "refuse the edit")
        for answer in refused.values():
            assert answer["ruleset"]["version"] == loaded
            problems = answer["reload"]["last_error"]["problems"]
            assert problems and all(p["code"] == "case_failed" for p in problems)
            assert problems[0]["file"].startswith("cases/") and "example case" in problems[0]["message"]
