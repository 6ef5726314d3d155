"""Load and reload: time and peak memory to load, validate, compile and precompute.

Each measurement runs in a fresh process (`python -m bench.load --child RULES_DIR`),
so peak memory is that of loading and nothing else, and the first load pays what a
starting server pays (imports excepted: they are timed apart). In that process:

- floor: parse the same YAML files with the fastest safe loader PyYAML has (libyaml's
  CSafeLoader when present): the least any loader must do. Load time is reported as
  a ratio to it, measured in the same process.
- load + validate (engine.load_rules), compile + precompute (engine.build_snapshot:
  durable_rules ruleset, every input class evaluated, version hash), both cold;
- reload: load_snapshot again in the now warm process (what the rules watcher does);
- peak RSS (VmHWM) before and after, and the Snapshot's size: the Python heap it
  keeps alive (tracemalloc, in a separate process because tracing slows loading down);
- the translations (engine.localise.Localiser), which a server also loads at start;
- a start from a stored bundle (`python -m bench.load --bundle RULES_DIR BUNDLE_DIR`, after
  one compile stored it): what a restart, a new worker or a roll-back pays (engine.bundle).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent



def timed_load(rules_dir: str | Path, out: dict[str, Any]) -> tuple[Any, Any]:
    """Load and validate, then compile and precompute; record both times in `out`."""
    from engine import build_snapshot, load_rules  # imported late: `child` times imports apart

    started = time.perf_counter()
    ruleset = load_rules(rules_dir)
    out["load_validate_s"] = time.perf_counter() - started
    started = time.perf_counter()
    snapshot = build_snapshot(ruleset)
    out["compile_precompute_s"] = time.perf_counter() - started
    out["total_s"] = out["load_validate_s"] + out["compile_precompute_s"]
    return ruleset, snapshot


def _maxrss_mib() -> float:
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across fork + exec.
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child(rules_dir: str, trace: bool = False, reloads: int = 3,
          bundle_dir: str | None = None) -> dict[str, Any]:
    """Measure one cold load in this (fresh) process; return the numbers.

    With `trace`, only the Snapshot's heap is measured: compiled, or loaded from the bundle
    store in `bundle_dir` if given (the smoke run: tracing a compile takes four compiles' time).
    """
    out: dict[str, Any] = {"rss_start_mib": _rss_mib()}
    started = time.perf_counter()
    import yaml

    import engine  # noqa: F401  (timed: the imports a server pays once)
    from engine import BundleStore, load_snapshot
    from engine.localise import Localiser

    out["import_s"] = time.perf_counter() - started
    files = sorted(Path(rules_dir).rglob("*.yaml"))
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    out["yaml_loader"] = loader.__name__
    out["files"] = len(files)
    out["bytes"] = sum(f.stat().st_size for f in files)
    if trace:
        import tracemalloc

        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        snapshot = load_snapshot(rules_dir, BundleStore(Path(bundle_dir)) if bundle_dir else None)
        current, peak = tracemalloc.get_traced_memory()
        out["snapshot_heap_mib"] = (current - before) / 2**20
        out["load_heap_peak_mib"] = (peak - before) / 2**20
        out["classes"] = sum(len(t.decisions) for t in snapshot.tables.values())
        out["from_bundle"] = snapshot.from_bundle
        return out
    rss_before = _maxrss_mib()
    started = time.perf_counter()
    for f in files:
        with f.open("rb") as handle:
            yaml.load(handle, Loader=loader)  # a safe loader
    out["yaml_floor_s"] = time.perf_counter() - started
    ruleset, snapshot = timed_load(rules_dir, out)
    out["peak_rss_mib"] = _maxrss_mib()
    out["peak_rss_increase_mib"] = out["peak_rss_mib"] - rss_before
    out["rss_after_load_mib"] = _rss_mib()
    out["classes"] = sum(len(t.decisions) for t in snapshot.tables.values())
    out["jurisdictions"] = len(snapshot.tables)
    out["rules"] = len(ruleset.rules)
    started = time.perf_counter()
    Localiser()
    out["localiser_s"] = time.perf_counter() - started
    reload_times = []
    for _ in range(reloads):
        started = time.perf_counter()
        load_snapshot(rules_dir)
        reload_times.append(time.perf_counter() - started)
    out["reload_s"] = statistics.median(reload_times)
    out["reload_runs_s"] = reload_times
    return out


def bundle_child(rules_dir: str, bundle_dir: str) -> dict[str, Any]:
    """Load the rules through a bundle store, as the server does (imports timed apart)."""
    started = time.perf_counter()
    from engine import BundleStore, load_snapshot

    out: dict[str, Any] = {"import_s": time.perf_counter() - started}
    started = time.perf_counter()
    snapshot = load_snapshot(rules_dir, BundleStore(Path(bundle_dir)))
    out["bundle_s"] = time.perf_counter() - started
    out["from_bundle"] = snapshot.from_bundle
    out["peak_rss_mib"] = _maxrss_mib()
    return out


def measure(rules_dir: Path, *, app_root: Path = ROOT, trace: bool = False, timeout: float = 600,
            bundle_dir: Path | None = None, reloads: int = 3) -> dict:
    """Run `child` (or `bundle_child`) in a fresh interpreter with `app_root`'s engine; return its JSON.

    `bundle_dir` without `trace`: a start through the bundle store (`bundle_child`); with
    `trace`: the traced load takes the Snapshot from there.
    """
    cmd = [sys.executable, "-m", "bench.load", "--child", str(rules_dir), f"--reloads={reloads}"]
    if trace:
        cmd += ["--trace"] + ([f"--bundle-dir={bundle_dir}"] if bundle_dir is not None else [])
    elif bundle_dir is not None:
        cmd = [sys.executable, "-m", "bench.load", "--bundle", str(rules_dir), str(bundle_dir)]
    env_path = f"{app_root}:{ROOT}"
    proc = subprocess.run(cmd, cwd=app_root, capture_output=True, text=True, timeout=timeout,
                          env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin", "HOME": str(Path.home())})
    if proc.returncode != 0:
        raise RuntimeError(f"load child failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run(*, smoke: bool, rules_dir: Path = ROOT / "rules", compare_root: Path | None = None) -> dict[str, Any]:
    """Cold loads in fresh processes (alternating with `compare_root`'s engine if given).

    The smoke run starts each kind of child once, with one reload, and traces a load from
    the bundle just stored instead of a compile (every compile there is a real one otherwise:
    the child's load and reload, and the compile that stores the bundle).
    """
    repeats = 1 if smoke else 5
    reloads = 1 if smoke else 3
    runs: dict[str, list[dict]] = {"current": []}
    if compare_root is not None:
        runs["before"] = []
    for _ in range(repeats):
        runs["current"].append(measure(rules_dir, reloads=reloads))
        if compare_root is not None:
            runs["before"].append(measure(compare_root / "rules", app_root=compare_root, reloads=reloads))
    import tempfile

    with tempfile.TemporaryDirectory(prefix="rightsgate-bench-bundles-") as bundles:
        traced = None if smoke else measure(rules_dir, trace=True)
        stored = measure(rules_dir, bundle_dir=Path(bundles))  # compiles and stores
        loads = [measure(rules_dir, bundle_dir=Path(bundles)) for _ in range(repeats)]
        if traced is None:
            traced = measure(rules_dir, trace=True, bundle_dir=Path(bundles))
    assert not stored["from_bundle"] and all(r["from_bundle"] for r in loads)
    out: dict[str, Any] = {"repeats": repeats, "traced": traced, "runs": runs}
    out["bundle"] = {"compile_and_store_s": stored["bundle_s"],
                     "load_s": statistics.median(r["bundle_s"] for r in loads),
                     "load_runs_s": [round(r["bundle_s"], 3) for r in loads],
                     "peak_rss_mib": statistics.median(r["peak_rss_mib"] for r in loads)}
    for name, results in runs.items():
        keys = ("import_s", "yaml_floor_s", "load_validate_s", "compile_precompute_s", "total_s", "reload_s",
                "localiser_s", "peak_rss_increase_mib", "peak_rss_mib", "rss_after_load_mib")
        med = {k: statistics.median(r[k] for r in results) for k in keys}
        med["total_x_yaml"] = med["total_s"] / med["yaml_floor_s"]
        med["classes"] = results[0]["classes"]
        med["jurisdictions"] = results[0]["jurisdictions"]
        med["rules"] = results[0]["rules"]
        med["yaml_loader"] = results[0]["yaml_loader"]
        med["total_runs_s"] = [round(r["total_s"], 3) for r in results]
        out[name] = med
    return out


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "--bundle":
        print(json.dumps(bundle_child(sys.argv[2], sys.argv[3])))
    elif len(sys.argv) >= 3 and sys.argv[1] == "--child":
        flags = dict(arg[2:].split("=", 1) for arg in sys.argv[3:] if "=" in arg)
        print(json.dumps(child(sys.argv[2], trace="--trace" in sys.argv, reloads=int(flags.get("reloads", 3)),
                               bundle_dir=flags.get("bundle-dir"))))
    else:
        print(json.dumps(run(smoke="--smoke" in sys.argv), indent=1))
