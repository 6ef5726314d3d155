"""Serve rightsgate under granian: `python -m api.server` (what scripts/serve runs).

Why granian and not gunicorn (numbers in docs/deploy.md and bench/results.md): its HTTP
I/O is Rust, so a client that trickles its headers or body, or sits idle on a keep-alive
connection, costs a socket and a few KiB, never one of the Python threads that run the
app; and the server alone answers a constant ~10x faster than gunicorn's Python parser,
which leaves the app's own cost as the only cost.

What gunicorn.conf.py guaranteed, and how it is kept here:

- preload: the rule set is loaded and validated once here, before any worker exists
  (`import wsgi`); an invalid set exits 1 with its report on stderr. Workers are forked
  from this process and inherit the loaded app.
- each worker catches up with the rule files and starts its reload watcher before it
  serves (`api.reload.after_fork`, from the worker's loader below).
- request limits: headers (request line included) must fit in one 8 KiB buffer
  (RIGHTSGATE_MAX_HEADER_BYTES) and arrive within RIGHTSGATE_HEADER_TIMEOUT seconds;
  hyper refuses more than 100 header fields; the 64 KiB body limit is the app's.
- no access log (granian's is off); the app writes one line per request with the
  route template, never the path or query, in batches every RIGHTSGATE_LOG_FLUSH_INTERVAL
  seconds (api.journal; the metrics come from the same entries). granian's own lines go
  through the same JSON formatter and redaction as the app's (api.logging).
- graceful restart: `kill -HUP <master>` starts a new worker and waits until it has
  loaded the current rules (at most RIGHTSGATE_WORKER_READY_TIMEOUT seconds) while the
  old one keeps serving, then stops the old one (which finishes its requests), one
  worker at a time.
- a worker that dies is replaced (as gunicorn's master did).
- HTTP/1.1 without Host and unknown HTTP versions get 400 (hyper lets them through: the
  app refuses them, api.front.check_protocol).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENV_PREFIX = "RIGHTSGATE_"


@dataclass(frozen=True)
class ServerSettings:
    """The server's own settings (the app reads the rest of RIGHTSGATE_* itself)."""

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 2
    threads: int = 64
    header_timeout: float = 10.0
    max_header_bytes: int = 8192
    respawn_interval: float = 0.2
    ready_timeout: float = 60.0
    metrics_bind: tuple[str, int] | None = None
    # The legal workbench (api.workbench): its own listener in the master, off by default.
    workbench_bind: tuple[str, int] | None = None
    workbench_draft: Path | None = None
    graceful_timeout: int = 10
    backlog: int = 1024
    # How often a worker writes its gathered request log lines and metrics (api.journal).
    log_flush_interval: float = 0.2


class ServerConfigError(ValueError):
    """A server setting has a value we cannot run with."""


def _int(env: dict[str, str] | os._Environ, key: str, default: int, minimum: int) -> int:
    raw = env.get(ENV_PREFIX + key, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ServerConfigError(f"{ENV_PREFIX}{key} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ServerConfigError(f"{ENV_PREFIX}{key} must be >= {minimum}, got {raw!r}")
    return value


def _float(env: dict[str, str] | os._Environ, key: str, default: float, minimum: float) -> float:
    raw = env.get(ENV_PREFIX + key, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ServerConfigError(f"{ENV_PREFIX}{key} must be a number, got {raw!r}") from None
    if not value >= minimum:  # also refuses NaN
        raise ServerConfigError(f"{ENV_PREFIX}{key} must be >= {minimum}, got {raw!r}")
    return value


def _bind(value: str, key: str) -> tuple[str, int]:
    host, sep, port_text = value.rpartition(":")
    if not sep or not port_text.isdigit() or not host or int(port_text) > 65535:
        raise ServerConfigError(f"{ENV_PREFIX}{key} must be HOST:PORT, got {value!r}")
    return host.strip("[]"), int(port_text)


def load_server_settings(env: dict[str, str] | os._Environ | None = None) -> ServerSettings:
    """Read RIGHTSGATE_BIND, _METRICS_BIND, _WORKBENCH_BIND, _WORKBENCH_DRAFT, _WORKERS, _THREADS,
    _HEADER_TIMEOUT, _MAX_HEADER_BYTES, _RESPAWN_INTERVAL, _WORKER_READY_TIMEOUT, _GRACEFUL_TIMEOUT
    and _LOG_FLUSH_INTERVAL
    (defaults in ServerSettings)."""
    env = os.environ if env is None else env
    host, port = _bind(env.get(ENV_PREFIX + "BIND", "").strip() or "127.0.0.1:8000", "BIND")
    metrics = env.get(ENV_PREFIX + "METRICS_BIND", "").strip()
    workbench = env.get(ENV_PREFIX + "WORKBENCH_BIND", "").strip()
    draft = env.get(ENV_PREFIX + "WORKBENCH_DRAFT", "").strip()
    if workbench and _bind(workbench, "WORKBENCH_BIND") == (host.strip("[]"), port):
        raise ServerConfigError(f"{ENV_PREFIX}WORKBENCH_BIND must not be the public port {port}")
    return ServerSettings(
        host=host, port=port, metrics_bind=_bind(metrics, "METRICS_BIND") if metrics else None,
        workbench_bind=_bind(workbench, "WORKBENCH_BIND") if workbench else None,
        workbench_draft=Path(draft) if draft else None,
        workers=_int(env, "WORKERS", 2, 1),
        threads=_int(env, "THREADS", 64, 1),
        header_timeout=_float(env, "HEADER_TIMEOUT", 10.0, 0.001),
        # hyper's buffer has a floor of 8 KiB (gunicorn allowed 4 KiB per line, 8 KiB per field).
        max_header_bytes=_int(env, "MAX_HEADER_BYTES", 8192, 8192),
        respawn_interval=_float(env, "RESPAWN_INTERVAL", 0.2, 0),
        ready_timeout=_float(env, "WORKER_READY_TIMEOUT", 60.0, 1),
        graceful_timeout=_int(env, "GRACEFUL_TIMEOUT", 10, 1),
        log_flush_interval=_float(env, "LOG_FLUSH_INTERVAL", 0.2, 0.01),
    )


# -- metrics directory (prometheus_client multiprocess mode) -------------------------------


def prepare_metrics_dir(env: dict[str, str] | os._Environ | None = None) -> Path:
    """Point PROMETHEUS_MULTIPROC_DIR at an empty directory before any worker exists.

    RIGHTSGATE_METRICS_DIR names it (emptied first: files of a previous run's dead
    workers would be summed in forever); by default a fresh temporary one.
    """
    env = os.environ if env is None else env
    wanted = env.get(ENV_PREFIX + "METRICS_DIR", "").strip()
    if wanted:
        path = Path(wanted)
        if path.exists():
            for entry in path.glob("*.db"):
                entry.unlink()
        path.mkdir(parents=True, exist_ok=True)
    else:
        path = Path(tempfile.mkdtemp(prefix="rightsgate-metrics-"))
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)
    return path


def health_check(settings: ServerSettings, timeout: float = 3.0) -> int:
    """0 if /healthz on the configured bind answers 200 (a wildcard bind is asked on loopback)."""
    import http.client

    wildcard = settings.host in ("0.0.0.0", "", "::")  # noqa: S104 (compared, not bound)
    host = "127.0.0.1" if wildcard else settings.host
    try:
        conn = http.client.HTTPConnection(host, settings.port, timeout=timeout)
        conn.request("GET", "/healthz")
        status = conn.getresponse().status
        conn.close()
    except OSError as error:
        print(f"rightsgate: health check failed: {error}", file=sys.stderr)
        return 1
    return 0 if status == 200 else 1


# -- start-up -----------------------------------------------------------------------------


def _log_config() -> dict[str, Any]:
    """granian's own loggers through rightsgate's JSON formatter and redaction filter."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"redact": {"()": "api.logging.RedactPersonalData"}},
        "formatters": {"json": {"()": "api.logging.JsonFormatter"}},
        "handlers": {"stderr": {"class": "api.logging.StderrHandler", "formatter": "json",
                                "filters": ["redact"]}},
        "loggers": {
            "_granian": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
            "granian.access": {"handlers": ["stderr"], "level": "CRITICAL", "propagate": False},
        },
    }


def worker_front(app: Any, log_flush_interval: float) -> Callable:
    """What a worker serves: the app's front, its journal written every `log_flush_interval`
    seconds to the request log and to the metrics (bench/ serves the same)."""
    from api import JOURNAL
    from api.metrics import RequestMetrics
    from api.views import EXTENSION

    journal = app.extensions[JOURNAL]
    reloader = app.extensions[EXTENSION]
    journal.add_sink(RequestMetrics(lambda: reloader.serving.stats()))
    journal.start_flushing(log_flush_interval)
    return app.wsgi_app  # api.front.Front: Flask's own __call__ would only add a call


def _worker_loader(app: Any, ready_dir: Path, log_flush_interval: float,
                   bare: bool = False) -> Callable[[], Callable]:
    def load() -> Callable:
        if bare:
            (ready_dir / f"ready-{os.getpid()}").touch()
            return app
        # Runs in each new worker, before it accepts a connection: catch up with the rule
        # files (they may have changed since the master loaded them), start the watcher.
        from api.metrics import worker_started
        from api.reload import after_fork

        after_fork()
        worker_started()
        front = worker_front(app, log_flush_interval)
        logging.getLogger("rightsgate.server").info("worker ready", extra={"event": "worker_ready"})
        (ready_dir / f"ready-{os.getpid()}").touch()  # the master stops the old worker now
        return front

    return load


def _server_class(ready_dir: Path, ready_timeout: float, metrics_bind: tuple[str, int] | None,
                  start_workbench: Callable[[], None] | None = None) -> type:
    """granian's multi-process server, with a restart that waits for readiness.

    granian replaces a worker by starting the new one, sleeping a fixed interval and
    stopping the old one; a new worker that needs longer (changed rules to compile on
    a busy machine: seconds) would leave nobody serving. Here the old worker is stopped
    only once the new one has said it is ready (or after `ready_timeout`).
    """
    from granian.server import Server
    from granian.server.common import logger

    def _forget_worker_metrics(pid: int | None) -> None:
        # Live gauges (the active version) of a worker that is gone must stop counting.
        # Done here: a worker process ends with os._exit, so its own atexit never runs.
        if pid is not None and os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            multiprocess.mark_process_dead(pid)

    def _check_rules_now(start_watching: bool = False) -> None:
        from api.reload import _REGISTRY

        for reloader in list(_REGISTRY):
            try:
                reloader.check_now()
            except Exception:
                logging.getLogger("rightsgate.server").exception("rules check in the master failed")
            if start_watching:
                reloader.ensure_running()
                # The master's loads are for workers it forks later; they must not take CPU
                # from the workers serving now: lowest priority, for this one thread (Linux
                # threads have their own nice value; forked workers keep the master's).
                thread = getattr(reloader, "_thread", None)
                native_id = getattr(thread, "native_id", None)
                if native_id is not None and hasattr(os, "setpriority"):
                    try:
                        os.setpriority(os.PRIO_PROCESS, native_id, 19)
                    except OSError:
                        pass

    class RightsgateServer(Server):  # type: ignore[misc, valid-type]
        def _reload(self, spawn_target: Any, target_loader: Any) -> None:
            # HUP: catch up with the files here first, so every new worker is forked with
            # them already compiled and is ready at once.
            _check_rules_now()
            super()._reload(spawn_target, target_loader)

        def startup(self, spawn_target: Any, target_loader: Any) -> None:
            super().startup(spawn_target, target_loader)
            # The master follows the rule files too (after forking the first workers), so
            # that a worker forked later (HUP, a crash) starts from the last valid set, not
            # from the one loaded at start-up (which, with broken files on disk, it would
            # otherwise serve again).
            _check_rules_now(start_watching=True)
            if metrics_bind is not None:
                # In the master, after the workers exist: it reads every worker's files
                # and serves them apart from the public port.
                from api.metrics import start_metrics_server

                start_metrics_server(*metrics_bind)
                logger.info(f"Metrics at: http://{metrics_bind[0]}:{metrics_bind[1]}/metrics")
            if start_workbench is not None:
                start_workbench()  # in the master, after the workers exist (threads and fork)

        def _respawn_workers(self, workers: list[int], spawn_target: Any, target_loader: Any,
                             delay: float = 0) -> None:
            for idx in workers:
                logger.info(f"Respawning worker-{idx + 1}")
                old = self.wrks.pop(idx)
                if not old.is_alive():
                    # granian exits the whole server ("crash loop") when a worker dies within
                    # 5.5 s of its last respawn; it counts a HUP's planned replacements too, so
                    # a worker killed (OOM) just after a HUP took every worker down. Only a
                    # replacement for a dead worker starts that clock.
                    self.respawned_wrks[idx] = time.monotonic()
                new = self._spawn_worker(idx=idx, target=spawn_target, callback_loader=target_loader)
                new.start()
                self.wrks.insert(idx, new)
                if old.is_alive():  # a replacement for a live worker (HUP): wait until it serves
                    mark = ready_dir / f"ready-{new._id()}"
                    deadline = time.monotonic() + ready_timeout
                    while not mark.exists() and new.is_alive() and time.monotonic() < deadline:
                        time.sleep(0.02)
                    time.sleep(delay)  # RIGHTSGATE_RESPAWN_INTERVAL: from ready to accepting
                logger.info(f"Stopping old worker-{idx + 1}")
                old.terminate()
                old.join(self.workers_kill_timeout)
                if old.is_alive():
                    logger.warning(f"Killing old worker-{idx + 1} after it refused to gracefully stop")
                    old.kill()
                    old.join()
                logger.info(f"Stopped old worker-{idx + 1}")
                _forget_worker_metrics(old._id())
            self._metrics.incr_spawn(len(workers))

    return RightsgateServer


def _workbench_starter(app: Any, settings: ServerSettings) -> Callable[[], None] | None:
    """Start the legal workbench on its own listener, showing the rules the master follows."""
    if settings.workbench_bind is None:
        return None
    bind, draft = settings.workbench_bind, settings.workbench_draft

    def start() -> None:
        from granian.server.common import logger

        from api.workbench import create_workbench_app, start_workbench_server

        start_workbench_server(*bind, create_workbench_app(app.extensions["rightsgate"], draft))
        logger.info(f"Legal workbench at: http://{bind[0]}:{bind[1]}/")

    return start


def main(argv: list[str] | None = None) -> int:
    """Validate the rules, then serve them with granian until TERM/INT (HUP: restart workers).

    `--app MODULE:ATTR` serves another WSGI callable as it is, with the same settings
    (no front, no metrics): the benchmarks' constant baselines under the same server.
    """
    parser = argparse.ArgumentParser(prog="python -m api.server", description=main.__doc__)
    parser.add_argument("--app", default=None, help="serve this WSGI callable instead (benchmarks)")
    parser.add_argument("--check", action="store_true",
                        help="exit 0 if the server on RIGHTSGATE_BIND answers /healthz (HEALTHCHECK)")
    args = parser.parse_args(argv)
    try:
        settings = load_server_settings()
    except ServerConfigError as error:
        print(f"rightsgate: refusing to start: {error}", file=sys.stderr, flush=True)
        return 1
    if args.check:
        return health_check(settings)
    metrics_dir = prepare_metrics_dir()
    # Preload: wsgi exits 1 with the rule set's report when it is invalid.
    if args.app:
        module, _, attr = args.app.partition(":")
        served = getattr(importlib.import_module(module), attr or "app")
    else:
        import wsgi

        served = wsgi.app
    from api.logging import configure_logging

    configure_logging()
    from granian.constants import Interfaces
    from granian.http import HTTP1Settings

    ready_dir = Path(tempfile.mkdtemp(prefix="rightsgate-run-"))
    server_class = _server_class(ready_dir, settings.ready_timeout, settings.metrics_bind,
                                 _workbench_starter(served, settings) if not args.app else None)
    # Workers are forked so that they share the loaded rule set (and start instantly).
    multiprocessing.set_start_method("fork", force=True)
    server = server_class(
        "wsgi:app", address=settings.host, port=settings.port, interface=Interfaces.WSGI,
        workers=settings.workers, blocking_threads=settings.threads, backlog=settings.backlog,
        # Requests queued per worker beyond its threads wait in Rust, not in Python.
        backpressure=max(settings.threads * 32, 128),
        http1_settings=HTTP1Settings(header_read_timeout=int(settings.header_timeout * 1000),
                                     max_buffer_size=settings.max_header_bytes),
        websockets=False, log_dictconfig=_log_config(), log_access=False,
        respawn_failed_workers=True, respawn_interval=settings.respawn_interval,
        workers_kill_timeout=settings.graceful_timeout,
    )
    try:
        server.serve(target_loader=_worker_loader(served, ready_dir, settings.log_flush_interval,
                                                    bare=bool(args.app)), wrap_loader=False)
    finally:
        shutil.rmtree(ready_dir, ignore_errors=True)
        if not os.environ.get(ENV_PREFIX + "METRICS_DIR", "").strip():
            shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
