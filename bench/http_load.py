"""HTTP: the shipped server (api/server.py: granian) on loopback, loaded by wrk.

The servers are started with the same settings (workers, threads, limits; bound to a
free 127.0.0.1 port):

- rightsgate: `wsgi:app` as scripts/serve runs it (the rules watcher runs, every
  request is logged as one JSON line to a file, metrics are counted).
- constant (bare WSGI): `bench.constant_app:wsgi_app`, a raw WSGI callable answering
  every decision request with the same constant bytes (a real decision body of median
  size and the same headers), served as it is by the same server: **the baseline of
  the targets** (throughput >= 0.9x, p99 <= 1.5x).
- rightsgate, today's config: `wsgi:app` under the former gunicorn.conf.py (gthread,
  2 workers x 4 threads): the target is >= 3x its throughput.
- constant (Flask), constant (rightsgate stack): the same constant through bare Flask
  and through rightsgate's own Flask app, for reference (what each layer costs).

wrk (one thread, a fixed number of keep-alive connections, `--latency`) replays the
request mix of bench/mix.py from a Lua script: GET with the query and headers, and
POST with the JSON body (the signup flow). Targets and baselines get the same
duration, connections and requests, alternately (A/B/C then C/B/A), twice.

This module also owns starting and stopping gunicorn, for bench/memory.py. It is
not called `http.py` because `python bench/run.py` puts bench/ first on sys.path,
where an `http` module would shadow the standard library's.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .mix import Request

ROOT = Path(__file__).resolve().parent.parent
WRK_MARK = "BENCH_JSON "


# -- servers ------------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """A server's master process started by us (we only ever signal this pid)."""

    name: str
    app_uri: str
    port: int
    proc: subprocess.Popen
    log: Path

    def get(self, path: str, headers: dict[str, str] | None = None, body: bytes | None = None,
            method: str = "GET") -> tuple[int, bytes]:
        """One request over a fresh loopback connection."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def worker_pids(self) -> list[int]:
        """The pids of this master's workers."""
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.proc.pid:
                pids.append(int(entry.name))
        return sorted(pids)

    def stop(self) -> None:
        """Stop the master (TERM, then KILL if it does not go), and with it its workers."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def server_command(kind: str, app_uri: str, app_root: Path) -> list[str]:
    """The command line of server `kind` serving `app_uri`.

    granian: api/server.py as scripts/serve runs it (`--app` for anything but wsgi:app);
    gunicorn: the former gunicorn.conf.py (gthread 2x4), "today's config";
    gevent: the same gunicorn.conf.py with gevent workers (bench/peers.py).
    A checkout without api/server.py (an older --compare-root) is served by gunicorn.
    """
    if kind == "granian" and (app_root / "api" / "server.py").exists():
        return [sys.executable, "-m", "api.server", *([] if app_uri == "wsgi:app" else ["--app", app_uri])]
    command = [sys.executable, "-m", "gunicorn", "--config", str(app_root / "gunicorn.conf.py")]
    if kind == "gevent":
        command += ["--worker-class", "gevent", "--worker-connections", "1000"]
    return [*command, app_uri]


def start_server(name: str, app_uri: str, work_dir: Path, *, app_root: Path = ROOT,
                 env: dict[str, str] | None = None, ready_path: str = "/healthz",
                 timeout: float = 90, kind: str = "granian") -> Server:
    """Start server `kind` (see server_command) serving `app_uri`; wait until it answers."""
    port = free_port()
    log = work_dir / f"server-{name}.log"
    environment = {**os.environ, **(env or {})}
    environment["RIGHTSGATE_BIND"] = f"127.0.0.1:{port}"
    # app_root first (the code under test), then this checkout (for bench.constant_app).
    environment["PYTHONPATH"] = os.pathsep.join([str(app_root), str(ROOT)])
    with log.open("wb") as out:
        proc = subprocess.Popen(server_command(kind, app_uri, app_root),
                                cwd=app_root, env=environment, stdout=out, stderr=subprocess.STDOUT)
    server = Server(name, app_uri, port, proc, log)
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{name}: the server exited with {proc.returncode}; see {log}")
        try:
            status, _ = server.get(ready_path)
            if status == 200:
                break
        except OSError:
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"{name}: not ready after {timeout:.0f}s; see {log}")
        time.sleep(0.1)
    # Workers boot one after the other: wait until all of them are there.
    while len(server.worker_pids()) < int(environment.get("RIGHTSGATE_WORKERS", "2")):
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)
    return server


# -- wrk ----------------------------------------------------------------------------------


def wrk_path() -> str:
    """wrk's path, or raise with how to install it."""
    path = shutil.which("wrk")
    if path is None:
        raise RuntimeError("wrk is not installed: apt-get install -y wrk")
    return path


def _lua(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _lua_headers(headers: Sequence[tuple[str, str]]) -> str:
    return "{" + ", ".join(f"[{_lua(k)}] = {_lua(v)}" for k, v in headers) + "}"


_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,'
    .. '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},'
    .. '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d,"mean":%.1f}}\\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max, latency.mean))
end
"""


def lua_script(mix: Sequence[Request], method: str, *, churn_places: Sequence[str] = (),
               limit: int | None = None, done_file: Path | None = None) -> str:
    """A wrk script replaying `mix` as GET or POST requests (or both: method "MIXED").

    `churn_places`: every third request is a signup POST with a new birthdate (memo and
    cache churn, for the memory run). `limit`: each wrk thread stops after that many
    responses and appends a line to `done_file`.
    """
    entries = []
    for request in mix:
        if method in ("GET", "MIXED"):
            entries.append(f"wrk.format(\"GET\", {_lua(request.path())}, {_lua_headers(request.headers)})")
        if method in ("POST", "MIXED"):
            headers = [*request.headers, ("Content-Type", "application/json")]
            entries.append(f"wrk.format(\"POST\", \"/v1/decision\", {_lua_headers(headers)}, "
                           f"{_lua(request.body().decode())})")
    lines = [
        "local reqs = {}",
        "local n = 0",
        "local k = 0",
        "local count = 0",
        f"local places = {{{', '.join(_lua(p) for p in churn_places)}}}",
        "local thread_id = 0",
        "local counter = 0",
        "setup = function(thread) counter = counter + 1; thread:set('thread_id', counter) end",
        "init = function(args)",
        "  reqs = {" + ",\n    ".join(entries) + "}",
        "  n = (thread_id or 0) * 97",
        "end",
        "request = function()",
        "  n = n + 1",
    ]
    if churn_places:
        lines += [
            "  if n % 3 == 0 then",
            "    k = k + 1",
            "    local body = string.format('{\"jurisdiction\":\"%s\",\"birthdate\":\"%04d-%02d-%02d\"}',",
            "      places[k % #places + 1], 1950 + k % 57, 1 + k % 12, 1 + k % 28)",
            "    return wrk.format(\"POST\", \"/v1/decision\", "
            "{[\"Content-Type\"] = \"application/json\"}, body)",
            "  end",
        ]
    lines += ["  return reqs[n % #reqs + 1]", "end"]
    if limit is not None:
        lines += [
            "response = function(status, headers, body)",
            "  count = count + 1",
            f"  if count == {int(limit)} then",
            f"    local f = io.open({_lua(str(done_file))}, 'a'); f:write('done\\n'); f:close()",
            "    wrk.thread:stop()",
            "  end",
            "end",
        ]
    return "\n".join(lines) + "\n" + _DONE


def run_wrk(port: int, script: Path, *, duration: float, connections: int, threads: int = 1,
            done_file: Path | None = None, expect_done: int = 0) -> dict[str, Any]:
    """Run wrk against 127.0.0.1:`port`; return its summary (latencies in µs).

    With `done_file`, stop wrk (SIGINT, which makes it report) once `expect_done`
    threads have written their line, instead of waiting for `duration`.
    """
    cmd = [wrk_path(), f"-t{threads}", f"-c{connections}", f"-d{int(duration)}s", "--latency",
           "--timeout", "10s", "-s", str(script), f"http://127.0.0.1:{port}"]
    started = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if done_file is not None:
        while proc.poll() is None:
            if done_file.exists() and len(done_file.read_text().splitlines()) >= expect_done:
                proc.send_signal(signal.SIGINT)
                break
            time.sleep(0.05)
    try:
        out, err = proc.communicate(timeout=duration + 60)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    elapsed = time.monotonic() - started
    for line in out.splitlines():
        if line.startswith(WRK_MARK):
            data = json.loads(line[len(WRK_MARK):])
            data["rps"] = data["requests"] / (data["duration_us"] / 1e6)
            data["wall_s"] = elapsed
            data["command"] = " ".join(cmd)
            return data
    raise RuntimeError(f"wrk gave no summary (exit {proc.returncode}): {err.strip() or out.strip()}")


# -- the Python fallback load generator ---------------------------------------------------


def request_list(mix: Sequence[Request], method: str) -> list[tuple[str, str, dict[str, str], bytes | None]]:
    """The mix as (method, path, headers, body) tuples (GET, POST or MIXED)."""
    out: list[tuple[str, str, dict[str, str], bytes | None]] = []
    for request in mix:
        if method in ("GET", "MIXED"):
            out.append(("GET", request.path(), dict(request.headers), None))
        if method in ("POST", "MIXED"):
            out.append(("POST", "/v1/decision", {**dict(request.headers), "Content-Type": "application/json"},
                        request.body()))
    return out


def run_python_load(port: int, requests: Sequence[tuple[str, str, dict[str, str], bytes | None]], *,
                    duration: float, connections: int, limit: int | None = None,
                    churn_places: Sequence[str] = ()) -> dict[str, Any]:
    """A keep-alive load generator in Python threads (used only when wrk is missing).

    It shares the CPU and the GIL with nothing but itself, yet it is far slower than wrk:
    its numbers are comparable between targets of the same run, not with wrk's.
    """
    import threading

    deadline = time.monotonic() + duration
    latencies: list[list[float]] = [[] for _ in range(connections)]
    errors = {"connect": 0, "read": 0, "write": 0, "status": 0, "timeout": 0}
    received = [0]
    lock = threading.Lock()
    counter = iter(range(10**12))

    def next_request(i: int) -> tuple[str, str, dict[str, str], bytes | None]:
        if churn_places and i % 3 == 0:
            k = i // 3
            body = (f'{{"jurisdiction":"{churn_places[k % len(churn_places)]}",'
                    f'"birthdate":"{1950 + k % 57:04d}-{1 + k % 12:02d}-{1 + k % 28:02d}"}}').encode()
            return ("POST", "/v1/decision", {"Content-Type": "application/json"}, body)
        return requests[i % len(requests)]

    def worker(slot: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while time.monotonic() < deadline:
            with lock:
                i = next(counter)
                if limit is not None and i >= limit:
                    return
            method, path, headers, body = next_request(i)
            started = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException):
                errors["read"] += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                continue
            latencies[slot].append((time.perf_counter() - started) * 1e6)
            if response.status >= 400:
                errors["status"] += 1
            with lock:
                received[0] += len(data)
        conn.close()

    started = time.monotonic()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    values = sorted(v for slot in latencies for v in slot)
    count = len(values)

    def pct(q: float) -> float:
        return values[min(count - 1, round(q * (count - 1)))] if values else float("nan")

    return {"requests": count, "duration_us": elapsed * 1e6, "bytes": received[0], "errors": errors,
            "latency_us": {"p50": pct(0.5), "p90": pct(0.9), "p99": pct(0.99), "p999": pct(0.999),
                           "max": values[-1] if values else float("nan"),
                           "mean": statistics.mean(values) if values else float("nan")},
            "rps": count / elapsed, "wall_s": elapsed,
            "command": f"python load generator: {connections} threads/connections, {duration}s"}


def drive(port: int, mix: Sequence[Request], method: str, work_dir: Path, *, duration: float,
          connections: int, limit: int | None = None, churn_places: Sequence[str] = (),
          tag: str = "") -> dict[str, Any]:
    """Replay `mix` against 127.0.0.1:`port` with wrk, or the Python generator without wrk."""
    if shutil.which("wrk") is None:
        return run_python_load(port, request_list(mix, method), duration=duration, connections=connections,
                               limit=limit, churn_places=churn_places)
    script = work_dir / f"{tag or method.lower()}.lua"
    done = work_dir / f"{tag or method.lower()}.done" if limit is not None else None
    if done is not None:
        done.unlink(missing_ok=True)
    if not script.exists() or limit is not None:
        script.write_text(lua_script(mix, method, churn_places=churn_places, limit=limit, done_file=done))
    return run_wrk(port, script, duration=duration, connections=connections, done_file=done,
                   expect_done=1 if done is not None else 0)


def load_generator() -> str:
    """What drives the load in this run."""
    path = shutil.which("wrk")
    if path is None:
        return "Python threads (bench/http_load.run_python_load): wrk is not installed"
    version = subprocess.run([path, "--version"], capture_output=True, text=True).stdout.splitlines()
    return version[0] if version else path


# -- the benchmark ------------------------------------------------------------------------


# Many short runs rather than a few long ones: the workers race to accept the keep-alive
# connections, and one worker often gets most of them for a whole run (1/15 splits are
# common; each run's "balance" is recorded). Each run opens new connections, so over
# many alternating runs every target gets the same luck.
PARAMS = {
    "smoke": {"duration": 1, "warmup": 0, "rounds": 1, "connections": 16},
    "full": {"duration": 2, "warmup": 2, "rounds": 10, "connections": 16},
}
BASELINE = "constant (bare WSGI)"
TODAY = "rightsgate, today's config (gunicorn gthread 2x4)"
TARGETS = (  # (name, app, short name for files, server kind)
    (BASELINE, "bench.constant_app:wsgi_app", "constant-wsgi", "granian"),
    ("rightsgate", "wsgi:app", "rightsgate", "granian"),
    (TODAY, "wsgi:app", "rightsgate-today", "gunicorn"),
    ("constant (Flask)", "bench.constant_app:flask_app", "constant-flask", "granian"),
    ("constant (rightsgate stack)", "bench.constant_app:stack_app", "constant-stack", "granian"),
)
SMOKE_TARGETS = (BASELINE, "rightsgate", TODAY)
COMPARE = "rightsgate, before (--compare-root)"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: Sequence[int]) -> dict[int, float]:
    """User + system CPU seconds of each process so far."""
    out = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return out


def typical_body(server: Server, mix: Sequence[Request]) -> bytes:
    """The decision body of median size over the mix (also checks every answer is a 200)."""
    bodies = []
    for request in mix:
        status, body = server.get(request.path(), dict(request.headers))
        if status != 200:
            raise RuntimeError(f"{request.path()} answered {status}: {body[:300]!r}")
        bodies.append(body)
    bodies.sort(key=len)
    return bodies[len(bodies) // 2]


def measured_run(server: Server, mix: Sequence[Request], method: str, work_dir: Path,
                 params: dict[str, Any]) -> dict[str, Any]:
    """One load run, with the CPU the server's workers used per request and their balance."""
    pids = server.worker_pids()
    before = cpu_seconds(pids)
    result = drive(server.port, mix, method, work_dir, duration=params["duration"],
                   connections=params["connections"])
    after = cpu_seconds(pids)
    used = {pid: after[pid] - before[pid] for pid in after if pid in before}
    total = sum(used.values())
    result["server_cpu_us_per_request"] = total / max(result["requests"], 1) * 1e6
    # 0.5 = both workers equally busy; near 0 = one worker did (almost) everything.
    result["worker_balance"] = min(used.values()) / total if total and len(used) > 1 else None
    return result


def run(mix: Sequence[Request], work_dir: Path, *, smoke: bool, compare_root: Path | None = None) -> dict:
    """Start the servers, replay the mix alternately against each; return raw runs and ratios."""
    params = PARAMS["smoke" if smoke else "full"]
    chosen = [(name, uri, slug, ROOT, kind) for name, uri, slug, kind in TARGETS
              if not smoke or name in SMOKE_TARGETS]
    if compare_root is not None:
        chosen.insert(2, (COMPARE, "wsgi:app", "rightsgate-before", compare_root, "granian"))
    work_dir.mkdir(parents=True, exist_ok=True)
    servers: dict[str, Server] = {}
    runs: list[dict[str, Any]] = []
    body = b""
    try:
        servers["rightsgate"] = start_server("rightsgate", "wsgi:app", work_dir)
        body = typical_body(servers["rightsgate"], mix)
        body_file = work_dir / "constant-body.json"
        body_file.write_bytes(body)
        for name, uri, slug, app_root, kind in chosen:
            if name not in servers:
                servers[name] = start_server(slug, uri, work_dir, app_root=app_root, kind=kind,
                                             env={"BENCH_CONSTANT_BODY": str(body_file)})
        for server in servers.values():  # warm-up: fill caches, let the CPU settle
            typical_body(server, mix)
            for method in ("GET", "POST"):
                if params["warmup"]:
                    drive(server.port, mix, method, work_dir, duration=params["warmup"],
                          connections=params["connections"])
        order = [name for name, *_ in chosen]
        for round_index in range(params["rounds"]):
            for method in ("GET", "POST"):
                for name in (order if round_index % 2 == 0 else order[::-1]):
                    result = measured_run(servers[name], mix, method, work_dir, params)
                    runs.append({"target": name, "method": method, "round": round_index, **result})
    finally:
        for server in servers.values():
            server.stop()
    for server in servers.values():
        if server.proc.returncode in (0, -signal.SIGTERM):
            server.log.unlink(missing_ok=True)
    return {"params": params, "body_bytes": len(body), "runs": runs, "generator": load_generator(),
            "summary": summarise(runs, [name for name, *_ in chosen]),
            "command": runs[0]["command"] if runs else None}


def summarise(runs: list[dict[str, Any]], names: Sequence[str]) -> dict[str, Any]:
    """Per method and target: req/s over all runs, median p50/p99/CPU per request; ratios."""
    out: dict[str, Any] = {}
    for method in ("GET", "POST"):
        per: dict[str, dict[str, Any]] = {}
        for name in names:
            mine = [r for r in runs if r["method"] == method and r["target"] == name]
            if not mine:
                continue
            per[name] = {
                "rps": sum(r["requests"] for r in mine) / sum(r["duration_us"] / 1e6 for r in mine),
                "rps_runs": [round(r["rps"]) for r in mine],
                "p50_ms": statistics.median(r["latency_us"]["p50"] for r in mine) / 1000,
                "p99_ms": statistics.median(r["latency_us"]["p99"] for r in mine) / 1000,
                "p99_runs_ms": [round(r["latency_us"]["p99"] / 1000, 1) for r in mine],
                "cpu_us": statistics.median(r["server_cpu_us_per_request"] for r in mine),
                "balance_median": statistics.median(r["worker_balance"] or 0 for r in mine),
                "requests": sum(r["requests"] for r in mine),
                "errors": sum(sum(r["errors"].values()) for r in mine),
            }
        ratios: dict[str, float] = {}
        rg = per.get("rightsgate")
        for name, short in ((BASELINE, "bare"), (TODAY, "today"), ("constant (Flask)", "flask"),
                            ("constant (rightsgate stack)", "stack"), (COMPARE, "before")):
            base = per.get(name)
            if rg and base:
                ratios[f"throughput_x_{short}"] = rg["rps"] / base["rps"]
                ratios[f"p50_x_{short}"] = rg["p50_ms"] / base["p50_ms"]
                ratios[f"p99_x_{short}"] = rg["p99_ms"] / base["p99_ms"]
                ratios[f"cpu_x_{short}"] = rg["cpu_us"] / base["cpu_us"]
        out[method] = {"targets": per, "ratios": ratios}
    return out


# -- the same apps in-process, without sockets ----------------------------------------------


def wsgi_cost(mix: Sequence[Request], *, smoke: bool) -> dict[str, Any]:
    """Per-request CPU of each app called as a WSGI callable (no server, no sockets).

    Far steadier than the HTTP numbers on a shared machine; it shows what each layer
    costs: rightsgate vs the same stack answering a constant vs bare Flask.
    """
    import io
    import os as _os

    from werkzeug.test import EnvironBuilder

    body_path = ROOT / "bench" / ".work" / "http" / "constant-body.json"
    if body_path.exists():
        _os.environ.setdefault("BENCH_CONSTANT_BODY", str(body_path))
    from api import create_app
    from api.server import ServerSettings, worker_front

    from . import constant_app

    # rightsgate as a server's worker serves it: the front, its journal written in batches.
    served = worker_front(create_app({"RIGHTSGATE_RELOAD_INTERVAL": 0}), ServerSettings.log_flush_interval)
    apps = {"rightsgate": served,
            "constant (rightsgate stack)": constant_app.stack_app,
            "constant (Flask)": constant_app.flask_app,
            "constant (bare WSGI)": constant_app.wsgi_app}
    environs = {
        "GET": [EnvironBuilder(path="/v1/decision", query_string=r.query_string().decode(),
                               headers=dict(r.headers)).get_environ() for r in mix],
        "POST": [EnvironBuilder(path="/v1/decision", method="POST", data=r.body(),
                                headers={**dict(r.headers), "Content-Type": "application/json"}
                                ).get_environ() for r in mix],
    }
    bodies = {m: [r.body() if m == "POST" else b"" for r in mix] for m in environs}

    def start_response(status: str, headers: list, exc_info: Any = None) -> None:
        return None

    def batch(app: Any, method: str) -> float:
        started = time.perf_counter_ns()
        for environ, data in zip(environs[method], bodies[method], strict=True):
            env = dict(environ)
            env["wsgi.input"] = io.BytesIO(data)
            result = app(env, start_response)
            for _ in result:
                pass
            if hasattr(result, "close"):
                result.close()
        journal = getattr(app, "journal", None)
        if journal is not None:  # rightsgate's lines and counts of this batch, written now
            journal.flush()
        return (time.perf_counter_ns() - started) / len(mix) / 1000

    # The request log goes to stderr, as in the server; here to a scratch file.
    saved = sys.stderr
    log_path = ROOT / "bench" / ".work" / "wsgi-cost-requests.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    rounds = 3 if smoke else 25
    out: dict[str, Any] = {"rounds": rounds}
    try:
        with log_path.open("w") as sys.stderr:
            for method in ("GET", "POST"):
                for app in apps.values():
                    batch(app, method)
                results: dict[str, list[float]] = {name: [] for name in apps}
                names = list(apps)
                for r in range(rounds):
                    for name in (names if r % 2 == 0 else names[::-1]):
                        results[name].append(batch(apps[name], method))
                med = {name: statistics.median(v) for name, v in results.items()}
                out[method] = {"us": med, "rightsgate_x_flask": med["rightsgate"] / med["constant (Flask)"],
                               "rightsgate_x_stack": med["rightsgate"] / med["constant (rightsgate stack)"]}
    finally:
        sys.stderr = saved
        log_path.unlink(missing_ok=True)
    return out
