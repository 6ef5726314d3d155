"""Item 4, at the server: every broken rule set of the corpus, dropped into the rules
directory of a running gunicorn, is refused by every worker, which keep serving the
previous set; /healthz names the problem (file and line); putting the good files back
brings the service back to `ok`.

tests/engine/test_broken_rules.py proves each case is refused by `load_snapshot`; this
proves the running server does the same through its watcher (which reads the files
itself first, to fingerprint them), including for the generated hostile cases (50 MB
file, alias bomb, !!python tags, non-UTF-8) and for two that are not in the corpus
because they are not files: a symlink to /dev/zero and a named pipe.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from ..conftest import RULES_DIR
from ..engine.helpers_rules import build_rules, case_dirs, read_expect
from ..engine.test_broken_rules import GENERATORS
from ..gunicorn_server import etag_version, running

pytestmark = [pytest.mark.server, pytest.mark.slow]

# Not shorter: each look costs every process a few ms of stat calls, and this test is
# bound by the CPU the workers need to load each case (0.05 s made it a third slower).
INTERVAL = 0.2
CASES = case_dirs()
PROBE = {"jurisdiction": "AT", "age": 13}


def tree(root: Path) -> dict[str, Path]:
    """The files under `root`, by path relative to it (symlinks and pipes included)."""
    out = {}
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            path = Path(dirpath) / name
            out[path.relative_to(root).as_posix()] = path
    return out


def same_file(a: Path, b: Path) -> bool:
    if a.is_symlink() or b.is_symlink() or not a.is_file() or not b.is_file():
        return False
    return a.stat().st_size == b.stat().st_size and a.read_bytes() == b.read_bytes()


def install(source: Path, target: Path) -> None:
    """Make `target` look like `source`, replacing each differing file in one step."""
    wanted, present = tree(source), tree(target)
    for rel, path in wanted.items():
        if rel in present and same_file(path, present[rel]):
            continue
        dest = target / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        staging = dest.with_name(f".{dest.name}.staging")
        if path.is_symlink():
            staging.symlink_to(os.readlink(path))
        elif path.is_file():
            shutil.copyfile(path, staging)
        else:
            os.mkfifo(staging)
        os.replace(staging, dest)
    for rel, path in present.items():
        if rel not in wanted:
            path.unlink()


def special_case(kind: str, tmp: Path) -> Path:
    rules = tmp / "rules"
    shutil.copytree(RULES_DIR, rules)
    if kind == "dev_zero_symlink":
        (rules / "frameworks" / "zero.yaml").symlink_to("/dev/zero")
    else:
        os.mkfifo(rules / "frameworks" / "pipe.yaml")
    return rules


SPECIALS = {"dev_zero_symlink": ("frameworks/zero.yaml", None, "not a regular file"),
            "named_pipe": ("frameworks/pipe.yaml", None, "not a regular file")}


def await_refusal(tail, pids: set[int], name: str, timeout: float = 90) -> dict[int, dict]:
    deadline = time.monotonic() + timeout
    seen: dict[int, dict] = {}
    while set(seen) != pids:
        for event in tail.events():
            if event.get("event") == "reload_refused" and event.get("pid") in pids:
                seen[event["pid"]] = event
            elif event.get("event") == "reload" and event.get("pid") in pids:
                raise AssertionError(f"a broken rule set was activated: {event}")
        assert time.monotonic() < deadline, f"{name}: not refused by {pids - set(seen)}"
        time.sleep(0.05)
    return seen


def test_every_corpus_case_dropped_into_a_running_server_is_refused(tmp_path, shipped_snapshot):
    served = tmp_path / "served"
    shutil.copytree(RULES_DIR, served)
    version = shipped_snapshot.version  # `served` is a copy of the shipped rules
    with running(served, tmp_path, workers=2, interval=INTERVAL) as server:
        pids = server.worker_pids()
        tail = server.tail()
        session = requests.Session()
        checked = []
        started = time.monotonic()
        cases = [(c.name, c) for c in CASES] + [(name, None) for name in SPECIALS]
        for name, case_dir in cases:
            scratch = tmp_path / "cases" / name
            scratch.mkdir(parents=True)
            post_check: Callable[[], None] | None = None
            if case_dir is None:
                broken = special_case(name, scratch)
                file, line, message = SPECIALS[name]
            else:
                expect = read_expect(case_dir)
                broken = build_rules(case_dir, scratch)
                if "generate" in expect:
                    post_check = GENERATORS[expect["generate"]](broken, scratch)
                file, line, message = expect["file"], expect["line"], expect["message"]

            tail.skip_to_end()
            install(broken, served)
            refusals = await_refusal(tail, pids, name)
            for event in refusals.values():
                assert event["version"] == version
                assert any(p["file"] == file and p["line"] == line and message in p["message"]
                           for p in event["problems"]), (name, event["problems"][:5])
            health = server.await_workers(lambda a: a["status"] == "degraded", f"degrade on {name}")
            assert {a["ruleset"]["version"] for a in health.values()} == {version}
            for method in ("get", "post"):
                response = (session.get(f"{server.base}/v1/decision", params=PROBE, timeout=10)
                            if method == "get" else
                            session.post(f"{server.base}/v1/decision", json=PROBE, timeout=10))
                assert response.status_code == 200
                assert response.json()["ruleset"]["version"] == etag_version(response) == version
            if post_check is not None:
                post_check()  # e.g. the !!python tag's marker file was never created
            checked.append(name)
            shutil.rmtree(scratch)

        install(RULES_DIR, served)
        back = server.await_workers(lambda a: a["status"] == "ok", "recover")
        assert {a["ruleset"]["version"] for a in back.values()} == {version}
        assert server.worker_pids() == pids, "a worker died"
        seconds = time.monotonic() - started
        session.close()
    print(f"broken rules at the server: {len(checked)} cases ({len(CASES)} from the corpus) refused by "
          f"every worker in {seconds:.1f} s; the previous set kept serving")
    assert len(checked) == len(CASES) + len(SPECIALS)
    log = server.stderr()
    assert "Traceback" not in log and "reload_check_failed" not in log
