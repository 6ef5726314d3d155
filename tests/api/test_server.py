"""The real server (api/server.py, what scripts/serve runs; 2 workers) over real HTTP on loopback."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from ..gunicorn_server import Server, running
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
