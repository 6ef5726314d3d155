"""Servers compared (issue 15, finding 1): which one serves rightsgate, by measurement.

Candidates, each with 2 workers and started from this checkout:

- gunicorn gthread 2x4: the former gunicorn.conf.py ("today").
- gunicorn gevent: the same file with gevent workers (1000 connections per worker).
- granian: api/server.py as scripts/serve runs it (2 workers x 64 threads).
- nginx -> gunicorn gthread 2x4: a buffering proxy in front of today's config (only
  when nginx is installed; `apt-get install -y nginx-light`).

For each: (a) throughput and p99 of the raw WSGI constant and of rightsgate (GET mix,
wrk, rounds interleaved over every server and app), and (b) the same rightsgate load
while slow clients hang on (headers trickled, bodies trickled, idle connections):
requests/s, p99 and errors then. Nothing is asserted; bench/results.md shows the table.
"""

from __future__ import annotations

import shutil
import socket
import statistics
import subprocess
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .http_load import Server, drive, free_port, start_server
from .mix import Request

APPS = (("constant (bare WSGI)", "bench.constant_app:wsgi_app"), ("rightsgate", "wsgi:app"))
KINDS = (("gunicorn gthread 2x4 (today)", "gunicorn"), ("gunicorn gevent 2 workers", "gevent"),
         ("granian 2x64 (api/server.py)", "granian"))
NGINX = "nginx -> gunicorn gthread 2x4"
# settle: seconds the slow clients hang on before the load starts (full: two trickles);
# slow_duration: seconds of load while they do.
PARAMS = {
    "smoke": {"duration": 1, "rounds": 1, "slow_per_kind": 8, "connections": 16, "warmup": 0,
              "settle": 0.5, "slow_duration": 1},
    "full": {"duration": 2, "rounds": 5, "slow_per_kind": 70, "connections": 16, "warmup": 1,
             "settle": 2.0, "slow_duration": 4},
}

NGINX_CONF = """
worker_processes 1;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {work}/body;
  proxy_temp_path {work}/proxy;
  fastcgi_temp_path {work}/fastcgi;
  uwsgi_temp_path {work}/uwsgi;
  scgi_temp_path {work}/scgi;
  client_header_timeout 10s;
  client_body_timeout 10s;
  client_max_body_size 64k;
  upstream app {{ server 127.0.0.1:{upstream}; keepalive 16; }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_request_buffering on;
      proxy_buffering on;
    }}
  }}
}}
"""


class NginxFront:
    """nginx in the foreground, proxying to `upstream` (a started Server)."""

    def __init__(self, upstream: Server, work_dir: Path) -> None:
        self.upstream = upstream
        self.port = free_port()
        self.work = work_dir / f"nginx-{self.port}"
        self.work.mkdir(parents=True, exist_ok=True)
        conf = self.work / "nginx.conf"
        conf.write_text(NGINX_CONF.format(work=self.work, upstream=upstream.port, port=self.port))
        nginx = shutil.which("nginx") or "nginx"
        command = [nginx, "-p", str(self.work), "-c", str(conf), "-g", "daemon off;"]
        self.proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("nginx did not start") from None
                time.sleep(0.1)

    def worker_pids(self) -> list[int]:
        return self.upstream.worker_pids()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=20)
        self.upstream.stop()


class SlowClients:
    """Connections that hang on: a third trickle headers, a third bodies, a third idle."""

    def __init__(self, port: int, per_kind: int) -> None:
        self.socks: list[tuple[str, socket.socket]] = []
        for kind in ("headers", "body", "idle"):
            for _ in range(per_kind):
                try:
                    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
                    if kind == "headers":
                        sock.sendall(b"GET /v1/decision?jurisdiction=AT HTTP/1.1\r\nHost: x\r\n")
                    elif kind == "body":
                        sock.sendall(b"POST /v1/decision HTTP/1.1\r\nHost: x\r\n"
                                     b"Content-Type: application/json\r\nContent-Length: 4000\r\n\r\n{")
                    self.socks.append((kind, sock))
                except OSError:
                    break
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._trickle, daemon=True)
        self.thread.start()

    def _trickle(self) -> None:
        step = 0
        while not self.stop.wait(1.0):
            step += 1
            for kind, sock in self.socks:
                try:
                    if kind == "headers":
                        sock.sendall(b"X-Slow-%d: %d\r\n" % (step, step))
                    elif kind == "body":
                        sock.sendall(b" ")
                except OSError:
                    pass

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        for _, sock in self.socks:
            sock.close()


def run(mix: Sequence[Request], work_dir: Path, *, smoke: bool) -> dict[str, Any]:
    """Start every candidate with both apps, measure (a) and (b); return the runs."""
    params = PARAMS["smoke" if smoke else "full"]
    work_dir.mkdir(parents=True, exist_ok=True)
    body_file = work_dir / "constant-body.json"
    servers: dict[tuple[str, str], Any] = {}
    kinds = list(KINDS) + ([(NGINX, "nginx")] if shutil.which("nginx") else [])
    runs: list[dict[str, Any]] = []
    try:
        for label, kind in kinds:
            for app_name, uri in reversed(APPS):  # rightsgate first: it gives the constant's body
                slug = f"peer-{kind}-{app_name.split()[0]}"
                env = {"BENCH_CONSTANT_BODY": str(body_file)} if body_file.exists() else {}
                server = start_server(slug, uri, work_dir, env=env,
                                      kind="gunicorn" if kind == "nginx" else kind)
                servers[(label, app_name)] = NginxFront(server, work_dir) if kind == "nginx" else server
                if not body_file.exists() and app_name == "rightsgate":
                    from .http_load import typical_body

                    body_file.write_bytes(typical_body(server, mix))
        order = list(servers)
        for key in order:  # warm-up: caches, the first connections, the CPU settling
            if params["warmup"]:
                drive(servers[key].port, mix, "GET", work_dir, duration=params["warmup"],
                      connections=params["connections"])
        for round_index in range(params["rounds"]):
            for key in (order if round_index % 2 == 0 else order[::-1]):
                result = drive(servers[key].port, mix, "GET", work_dir, duration=params["duration"],
                               connections=params["connections"])
                runs.append({"server": key[0], "app": key[1], "phase": "plain", **result})
        # (b): rightsgate while slow clients hang on, one server at a time.
        for label, _ in kinds:
            server = servers[(label, "rightsgate")]
            slow = SlowClients(server.port, params["slow_per_kind"])
            time.sleep(params["settle"])
            try:
                result = drive(server.port, mix, "GET", work_dir, duration=params["slow_duration"],
                               connections=params["connections"])
            finally:
                slow.close()
            runs.append({"server": label, "app": "rightsgate", "phase": "slow clients",
                         "slow_connections": len(slow.socks), **result})
    finally:
        for server in servers.values():
            server.stop()
    return {"params": params, "runs": runs, "summary": summarise(runs, [k for k, _ in kinds])}


def summarise(runs: list[dict[str, Any]], labels: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for label in labels:
        row: dict[str, Any] = {}
        for app_name, _ in APPS:
            mine = [r for r in runs
                    if r["server"] == label and r["app"] == app_name and r["phase"] == "plain"]
            if mine:
                row[app_name] = {
                    "rps": sum(r["requests"] for r in mine) / sum(r["duration_us"] / 1e6 for r in mine),
                    "rps_runs": [round(r["rps"]) for r in mine],
                    "p99_ms": statistics.median(r["latency_us"]["p99"] for r in mine) / 1000,
                    "errors": sum(sum(r["errors"].values()) for r in mine),
                }
        slow = [r for r in runs if r["server"] == label and r["phase"] == "slow clients"]
        if slow:
            r = slow[0]
            row["slow clients"] = {"connections": r["slow_connections"], "rps": r["rps"],
                                   "p99_ms": r["latency_us"]["p99"] / 1000,
                                   "max_ms": r["latency_us"]["max"] / 1000,
                                   "errors": sum(r["errors"].values()), "timeouts": r["errors"]["timeout"]}
        out[label] = row
    return out
