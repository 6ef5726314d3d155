"""Real gunicorn on a loopback port, for the API and reliability tests.

`Server` starts `python -m gunicorn --config gunicorn.conf.py` from the repo root on a
free loopback port with its own rules directory, worker count and reload interval,
keeps stdout and stderr in separate files, knows the master's worker PIDs (from
/proc, not from answers), reads their RSS, and tails the JSON log lines on stderr
incrementally (the request log grows by one line per request).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

from .conftest import REPO_ROOT

START_TIMEOUT = 45.0
# What scripts/serve runs. RIGHTSGATE_TEST_SERVER=gunicorn runs the former gunicorn
# configuration instead, to show what a test catches there (issue 15: "fails before").
SERVER_COMMAND = ([sys.executable, "-m", "gunicorn", "--config", str(REPO_ROOT / "gunicorn.conf.py")]
                  if os.environ.get("RIGHTSGATE_TEST_SERVER") == "gunicorn"
                  else [sys.executable, "-m", "api.server"])


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def raw_exchange(port: int, data: bytes) -> bytes:
    """Send raw bytes on a fresh connection; return what comes back up to the end of the
    response head (or whatever came before the server closed or stopped answering)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        try:
            sock.sendall(data)
        except OSError:
            pass  # the server may close before it has read everything: the answer still counts
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
                if b"\r\n\r\n" in answer:
                    break
        except OSError:
            pass
    return answer


def children(pid: int) -> set[int]:
    """The live child processes of `pid` (gunicorn's master: its workers)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...; comm may hold spaces and parentheses.
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(entry.name))
    return found


def rss_bytes(pid: int) -> int:
    """Resident set size of `pid` from /proc/<pid>/status (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for {pid}")


class LogTail:
    """Read a growing log file from where the last read stopped."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self._partial = b""

    def skip_to_end(self) -> None:
        self.offset = self.path.stat().st_size
        self._partial = b""

    def lines(self) -> list[str]:
        with self.path.open("rb") as handle:
            handle.seek(self.offset)
            data = handle.read()
        self.offset += len(data)
        data = self._partial + data
        *complete, self._partial = data.split(b"\n")
        return [line.decode("utf-8", "replace") for line in complete]

    def events(self) -> list[dict[str, Any]]:
        """The JSON lines written since the last read (other lines are skipped)."""
        out = []
        for line in self.lines():
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    continue
        return out


class Server:
    """One gunicorn master with its workers, on a loopback port."""

    def __init__(self, rules: Path, workdir: Path, *, workers: int = 2, interval: float = 0.2,
                 env: dict[str, str] | None = None) -> None:
        self.rules = rules
        self.workers = workers
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.out_path = workdir / "gunicorn.out"
        self.err_path = workdir / "gunicorn.err"
        inherited = {k: v for k, v in os.environ.items()
                     if not k.startswith(("RIGHTSGATE_", "FLASK_", "GUNICORN_"))}
        self.env = {**inherited, "RIGHTSGATE_BIND": f"127.0.0.1:{self.port}",
                    "RIGHTSGATE_RULES_DIR": str(rules), "RIGHTSGATE_WORKERS": str(workers),
                    "RIGHTSGATE_RELOAD_INTERVAL": str(interval),
                    "RIGHTSGATE_STATE_DIR": str(workdir / "state"),
                    # These servers test reload mechanics with edits that change answers the
                    # example cases pin (a minimum age of 14); the reload gate that refuses
                    # such a set has its own tests (tests/api/test_reload.py, test_server.py).
                    "RIGHTSGATE_ACTIVATE_FAILING_CASES": "on", **(env or {})}
        self.process: subprocess.Popen | None = None

    # -- life cycle ---------------------------------------------------------------------

    def start(self) -> Server:
        with self.out_path.open("ab") as out, self.err_path.open("ab") as err:
            self.process = subprocess.Popen(
                SERVER_COMMAND,
                cwd=REPO_ROOT, env=self.env, stdout=out, stderr=err)
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        """Wait until /healthz answers and the master has all its workers."""
        deadline = time.monotonic() + timeout
        while True:
            assert self.process is not None
            assert self.process.poll() is None, f"gunicorn exited early:\n{self.stderr()[-4000:]}"
            try:
                if (requests.get(f"{self.base}/healthz", timeout=2).status_code == 200
                        and len(self.worker_pids()) == self.workers):
                    return
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, f"gunicorn did not come up:\n{self.stderr()[-4000:]}"
            time.sleep(0.1)

    def stop(self, timeout: float = 20) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.wait()

    def wait_exit(self, timeout: float) -> int:
        """Wait for a master that is expected to stop by itself; kill it past `timeout`."""
        assert self.process is not None
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"gunicorn still running after {timeout} s") from None

    # -- observation --------------------------------------------------------------------

    def worker_pids(self) -> set[int]:
        return children(self.pid)

    def stderr(self) -> str:
        return self.err_path.read_text(encoding="utf-8", errors="replace")

    def stdout(self) -> str:
        return self.out_path.read_text(encoding="utf-8", errors="replace")

    def tail(self) -> LogTail:
        return LogTail(self.err_path)

    def health_by_worker(self, rounds: int = 24) -> dict[int, dict]:
        """Ask /healthz over many fresh concurrent connections, so every worker answers some."""
        def ask(_: int) -> dict | None:
            try:
                with requests.Session() as session:
                    return session.get(f"{self.base}/healthz", timeout=10).json()
            except requests.ConnectionError:
                return None  # a worker being replaced closed the connection: ask again later

        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(ask, range(rounds)))
        return {answer["pid"]: answer for answer in answers if answer is not None}

    def await_workers(self, check: Callable[[dict], bool], what: str,
                      timeout: float = 90) -> dict[int, dict]:
        """Poll /healthz until every current worker has answered and satisfies `check`."""
        deadline = time.monotonic() + timeout
        seen: dict[int, dict] = {}
        while True:
            pids = self.worker_pids()
            for pid, answer in self.health_by_worker().items():
                seen[pid] = answer
            seen = {pid: answer for pid, answer in seen.items() if pid in pids}
            if set(seen) == pids and len(pids) == self.workers and all(check(a) for a in seen.values()):
                return seen
            assert time.monotonic() < deadline, f"workers did not reach: {what}; saw {seen}"
            time.sleep(0.2)


@contextmanager
def running(rules: Path, workdir: Path, **kwargs: Any) -> Iterator[Server]:
    """Start a server, wait until it serves, and stop it (cleanly) afterwards."""
    server = Server(rules, workdir, **kwargs).start()
    try:
        server.wait_ready()
        yield server
    finally:
        code = server.stop()
    assert code == 0, f"gunicorn did not stop cleanly ({code}):\n{server.stderr()[-4000:]}"


def swap_symlink(link: Path, target: Path) -> None:
    """Point `link` at `target` atomically (a new symlink renamed over the old one)."""
    staging = link.with_name(f".{link.name}.{os.getpid()}.new")
    if staging.is_symlink() or staging.exists():
        staging.unlink()
    staging.symlink_to(target, target_is_directory=True)
    os.replace(staging, link)


def etag_version(response: requests.Response) -> str:
    """The ruleset version an ETag names (it leads the ETag, before the first '-')."""
    return response.headers["ETag"].strip('"').split("-")[0]
