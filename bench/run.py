"""rightsgate's benchmarks, one command.

    python bench/run.py                      # everything; writes bench/results.md
    python bench/run.py --smoke              # tiny counts, ~2 min; bench/.work/results-smoke.md
    python bench/run.py --compare-root DIR   # also serve and load the code in DIR (before/after)
    python bench/run.py --only inprocess,load  # some phases; report goes to bench/.work/

Phases: inprocess (decision cost without the web framework), http (api/server.py + wrk
against constant-JSON baselines and today's gunicorn), peers (candidate servers compared,
slow clients included), load (load/validate/compile/precompute), memory
(worker RSS over 100k requests), growth (10x and 100x rule sets). Costs are ratios
against baselines measured in the same run, interleaved with the subject. Nothing
here asserts a time: the smoke run exists so the benchmarks never rot (.ci/run).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, bench/ would be first on sys.path; the checkout root is what we want.
if sys.path and Path(sys.path[0]).resolve() == ROOT / "bench":
    sys.path[0] = str(ROOT)
elif str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from api.config import DEFAULT_BUNDLE_DIR  # noqa: E402
from bench import growth, http_load, inprocess, load, memory, peers, report  # noqa: E402
from bench.mix import build_mix, describe  # noqa: E402
from engine import BundleStore, load_snapshot  # noqa: E402

PHASES = ("inprocess", "http", "peers", "load", "memory", "growth")
WORK = ROOT / "bench" / ".work"
# The smoke run replays a seeded sample of the request mix (every kind of request, a
# tenth of the ~2,000): each phase verifies, renders or sends every request of its mix at
# least once, and the smoke run only has to show that each code path still runs.
SMOKE_MIX = 200


def machine() -> dict[str, Any]:
    """Where and with what this run happens."""
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kib = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kib = int(line.split()[1])
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True).stdout.strip() or "unknown"
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "api", "engine", "bench", "rules",
                                "gunicorn.conf.py", "wsgi.py", "api/server.py"],
                               cwd=ROOT, capture_output=True, text=True).stdout
    except OSError:  # no git on this machine
        commit, dirty = "unknown", ""
    versions = {}
    for package in ("Flask", "Werkzeug", "granian", "gunicorn", "gevent", "prometheus_client", "marshmallow",
                    "durable_rules", "Babel", "PyYAML"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = "?"
    return {
        "nproc": os.cpu_count(), "cpu": cpu, "memory_gib": round(mem_kib / 2**20, 1),
        "python": sys.version.split()[0], "implementation": platform.python_implementation(),
        "platform": platform.platform(), "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit + (" + uncommitted changes" if dirty.strip() else ""), "versions": versions,
        "load_generator": http_load.load_generator(),
    }


def loadavg() -> str:
    """The 1-minute load average (other tenants of the machine show up here)."""
    return Path("/proc/loadavg").read_text().split()[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny counts, ~2 min, report in bench/.work/")
    parser.add_argument("--only", default="", help=f"comma-separated phases of: {', '.join(PHASES)}")
    parser.add_argument("--compare-root", type=Path, default=None,
                        help="a checkout of older code to serve and load alongside (before/after)")
    parser.add_argument("--output", type=Path, default=None, help="where to write the Markdown report")
    args = parser.parse_args(argv)
    phases = [p for p in args.only.split(",") if p] or list(PHASES)
    unknown = set(phases) - set(PHASES)
    if unknown:
        parser.error(f"unknown phase(s): {', '.join(sorted(unknown))}")
    warnings.filterwarnings("ignore", category=DeprecationWarning)  # durable.engine on 3.12+
    WORK.mkdir(parents=True, exist_ok=True)
    partial = args.smoke or bool(args.only)
    output = args.output or (WORK / "results-smoke.md" if args.smoke else
                             WORK / "results-partial.md" if partial else ROOT / "bench" / "results.md")
    command = "python bench/run.py" + (" " + " ".join(argv if argv is not None else sys.argv[1:])).rstrip()

    started = time.monotonic()
    results: dict[str, Any] = {"machine": machine(), "command": command, "smoke": args.smoke,
                               "phases": phases, "loadavg": {"start": loadavg()}}
    snapshot = load_snapshot(ROOT / "rules", BundleStore(DEFAULT_BUNDLE_DIR))  # as the server does
    mix = build_mix(snapshot, limit=SMOKE_MIX if args.smoke else None)
    results["mix"] = describe(mix, snapshot)

    def phase(name: str, fn: Any) -> None:
        if name not in phases:
            return
        print(f"== {name}", flush=True)
        t0 = time.monotonic()
        before = loadavg()
        results[name] = fn()
        results[name]["wall_s"] = time.monotonic() - t0
        results[name]["loadavg"] = [before, loadavg()]

    phase("inprocess", lambda: inprocess.run(ROOT / "rules", mix, smoke=args.smoke))
    phase("http", lambda: {**http_load.run(mix, WORK / "http", smoke=args.smoke,
                                           compare_root=args.compare_root),
                           "wsgi": http_load.wsgi_cost(mix, smoke=args.smoke)})
    phase("peers", lambda: peers.run(mix, WORK / "peers", smoke=args.smoke))
    phase("load", lambda: load.run(smoke=args.smoke, compare_root=args.compare_root))
    phase("memory", lambda: memory.run(mix, snapshot, WORK / "memory", smoke=args.smoke))
    phase("growth", lambda: growth.run(WORK / "growth", smoke=args.smoke))
    results["wall_s"] = time.monotonic() - started
    results["loadavg"]["end"] = loadavg()

    (WORK / ("results-smoke.json" if args.smoke else "results.json")).write_text(
        json.dumps(results, indent=1, default=str))
    output.write_text(report.markdown(results))
    print(report.summary(results))
    print(f"report: {output.relative_to(ROOT) if output.is_relative_to(ROOT) else output} "
          f"({results['wall_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
