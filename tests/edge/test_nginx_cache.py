"""nginx's proxy_cache (the docs/deploy.md block) in front of the real server.

An age-less decision is served by the cache the second time, byte for byte; one per
Vary variant (language, GPC, the edge's geolocation headers); a decision with an age
or birthdate never is; a 304 comes from the cache; and after a rule reload the cache
serves the new answer within max-age + stale-while-revalidate (short ones here).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from ..conftest import RULES_DIR
from ..gunicorn_server import Server, etag_version, running
from .nginx import documented_site, loopback_listen, running_nginx

pytestmark = [pytest.mark.server, pytest.mark.slow]

MAX_AGE = 3
SWR = 1
# Requests, healthz polls and the cache's own refetch on a shared 2-core machine.
SLACK = 2.0


@dataclass
class Stack:
    server: Server
    base: str  # nginx
    rules: Path

    def get(self, query: str, **headers: str) -> requests.Response:
        return requests.get(f"{self.base}/v1/decision?{query}", headers=headers, timeout=10)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    work = tmp_path_factory.mktemp("nginx-cache")
    rules = work / "rules"
    shutil.copytree(RULES_DIR, rules)
    env = {"RIGHTSGATE_DECISION_MAX_AGE": str(MAX_AGE),
           "RIGHTSGATE_DECISION_STALE_WHILE_REVALIDATE": str(SWR),
           "RIGHTSGATE_TRUSTED_GEO_HEADERS": "cloudflare"}
    with running(rules, work, workers=1, interval=0.2, env=env) as server:
        port, listen = loopback_listen()
        site = documented_site("rightsgate: shared cache", {
            "/var/cache/nginx/rightsgate": str(work / "cache"),
            "server 127.0.0.1:8000;": f"server 127.0.0.1:{server.port};",
            "listen 80;": listen,
        })
        with running_nginx(site, work / "nginx"):
            yield Stack(server, f"http://127.0.0.1:{port}", rules)


def status(response: requests.Response) -> str:
    return response.headers.get("X-Cache-Status", "")


def test_a_second_age_less_request_is_a_cache_hit_with_the_same_bytes(stack):
    first = stack.get("jurisdiction=DE&locale=de")
    second = stack.get("jurisdiction=DE&locale=de")
    assert first.status_code == second.status_code == 200
    assert status(first) == "MISS"
    assert status(second) == "HIT"
    assert second.content == first.content
    assert second.headers["ETag"] == first.headers["ETag"]
    assert second.headers["Cache-Control"] == f"public, max-age={MAX_AGE}, stale-while-revalidate={SWR}"
    assert second.headers["Vary"] == "Accept-Language, Sec-GPC"
    # The cache answers If-None-Match itself.
    again = stack.get("jurisdiction=DE&locale=de", **{"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert status(again) == "HIT"
    assert again.headers["ETag"] == first.headers["ETag"]


def test_the_cache_keeps_one_copy_per_language_and_gpc(stack):
    variants = [({"Accept-Language": "nl-BE"}, "nl", False), ({"Accept-Language": "fr-BE"}, "fr", False),
                ({"Accept-Language": "nl-BE", "Sec-GPC": "1"}, "nl", True)]
    for round_ in range(2):
        for headers, locale, gpc in variants:
            response = stack.get("jurisdiction=BE", **headers)
            body = response.json()
            assert (body["locale"], body["gpc"]) == (locale, gpc), (round_, headers)
            assert response.headers["Content-Language"] == locale
            assert status(response) == ("MISS" if round_ == 0 else "HIT"), (round_, headers)


@pytest.mark.parametrize("query", ["jurisdiction=DE&age=15", "jurisdiction=US-CA&birthdate=2012-03-04",
                                   "jurisdiction=FR&age=40&gpc=1"])
def test_a_decision_with_an_age_or_birthdate_is_never_cached(stack, query):
    bodies = set()
    for _ in range(3):
        response = stack.get(query)
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == f"private, max-age={MAX_AGE}"
        assert status(response) in ("MISS", "BYPASS")
        bodies.add(response.content)
    assert len(bodies) == 1


def test_post_is_never_served_from_the_cache(stack):
    for _ in range(3):
        response = requests.post(f"{stack.base}/v1/decision", json={"jurisdiction": "AT"}, timeout=10)
        assert response.status_code == 200
        assert status(response) != "HIT"


def test_edge_located_answers_are_cached_per_place(stack):
    def located(country: str, region: str | None = None) -> requests.Response:
        headers = {"CF-IPCountry": country, **({"CF-Region-Code": region} if region else {})}
        return stack.get("locale=en", **headers)

    seen = [(r.json()["jurisdiction"]["code"], status(r)) for r in (
        located("US", "CA"), located("DE"), located("US", "CA"), located("DE"), located("US", "TX"))]
    assert seen == [("US-CA", "MISS"), ("DE", "MISS"), ("US-CA", "HIT"), ("DE", "HIT"), ("US-TX", "MISS")]
    assert located("US", "CA").headers["Vary"] == "Accept-Language, Sec-GPC, CF-IPCountry, CF-Region-Code"
    # Not located: the 422 is never stored.
    for _ in range(2):
        unlocated = located("T1")
        assert unlocated.status_code == 422
        assert status(unlocated) != "HIT"


def test_after_a_rule_reload_the_cache_serves_the_new_answer_within_max_age(stack):
    query = "jurisdiction=IE&locale=en"

    def access_title(response: requests.Response) -> str:
        return {r["id"]: r for r in response.json()["rights"]}["access"]["title"]

    def health_version() -> str:
        return requests.get(f"{stack.server.base}/healthz", timeout=10).json()["ruleset"]["version"]

    old_version = health_version()
    assert status(stack.get(query)) in ("MISS", "HIT", "EXPIRED", "REVALIDATED", "STALE", "UPDATING")
    assert status(stack.get(query)) == "HIT"
    catalog = stack.rules / "catalog.yaml"
    text = catalog.read_text(encoding="utf-8")
    assert "title: Right of access\n" in text
    catalog.write_text(text.replace("title: Right of access\n", "title: Right of access (edge)\n"),
                       encoding="utf-8")

    # Keep asking through the cache while the server compiles the edit, so its copy is
    # always a fresh one of the old rules when the server switches.
    seen: list[tuple[float, str, str, str]] = []  # (time, version, title, cache status)
    switched_at = None
    deadline = time.monotonic() + 120
    while True:
        response = stack.get(query)
        assert response.status_code == 200
        now = time.monotonic()
        seen.append((now, etag_version(response), access_title(response), status(response)))
        if switched_at is None and len(seen) % 2 == 0 and health_version() != old_version:
            switched_at = time.monotonic()
        if switched_at is not None and seen[-1][1] != old_version:
            break
        assert now < deadline, f"the cache never served the new rules; last: {seen[-3:]}"
        time.sleep(0.1)

    new_version, new_title = seen[-1][1], seen[-1][2]
    assert new_title == "Right of access (edge)"
    assert any(v == old_version and s == "HIT" for _, v, _, s in seen), "the old answer was never cached"
    late_old = [t - switched_at for t, v, _, _ in seen if v == old_version and t > switched_at]
    # The cache's copy is at most max-age old when the server switches, and may be served
    # stale for stale-while-revalidate more while it is refetched.
    assert max(late_old, default=0.0) <= MAX_AGE + SWR + SLACK, late_old
    assert seen[-1][0] - switched_at <= MAX_AGE + SWR + SLACK
    # The new answer is cached in turn, byte for byte.
    first = stack.get(query)
    second = stack.get(query)
    assert etag_version(second) == new_version
    assert status(second) == "HIT" and second.content == first.content
