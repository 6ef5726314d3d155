"""Growth: rule sets with 10x and 100x the places, rules and age thresholds.

For each scale, bench/generate.py writes a rule set (1x is the shipped one, copied);
a fresh process (`python -m bench.growth --child DIR`) then loads it and reports:

- load + validate and compile + precompute times, input classes, peak and final RSS;
- per-request cost on a same-size sample of that rule set's request mix (bench/mix.py),
  with the in-process methods of bench/inprocess.py (floor, warm, warm with a new
  input, cold): it must stay flat as the rule set grows.

Each child has a time limit; a scale that does not finish in it is reported as such.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MIX_SIZE = 400
SMOKE_MIX_SIZE = 60
# The smoke run's generated scale: the shipped places plus one synthetic country with five
# subdivisions (bench.generate.plan), which writes every kind of synthetic rule (a
# country's, a subdivision's, a dated change, a new age threshold) at ~1x compile cost.
SMOKE_SCALE = 1.15


def _status_mib(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) / 1024
    return float("nan")


def _rss_mib() -> float:
    return _status_mib("VmRSS:")


def child(rules_dir: str, smoke: bool) -> dict[str, Any]:
    """Load `rules_dir` in this fresh process and time requests against it."""
    from bench import inprocess
    from bench.generate import describe
    from bench.load import timed_load
    from bench.mix import build_mix

    out: dict[str, Any] = {"rss_start_mib": _rss_mib()}
    ruleset, snapshot = timed_load(rules_dir, out)
    out["peak_rss_mib"] = _status_mib("VmHWM:")  # not ru_maxrss: inherited across fork + exec
    out["rss_after_load_mib"] = _rss_mib()
    out.update(describe(ruleset))
    out["classes"] = sum(len(t.decisions) for t in snapshot.tables.values())
    out["us_per_class"] = out["compile_precompute_s"] / out["classes"] * 1e6
    serving = inprocess.serving_for(snapshot)
    mix = build_mix(snapshot, limit=SMOKE_MIX_SIZE if smoke else MIX_SIZE)
    params = ({"rounds": 6, "sample_rounds": 1, "slow_rounds": 3, "slow_batch": 10} if smoke
              else {"rounds": 200, "sample_rounds": 20, "slow_rounds": 30, "slow_batch": 20})
    result = inprocess.measure(serving, mix, method="GET", naive=None, **params)
    out["per_request"] = {"lookup": result["lookup"], "work": result["work"], "ratios": result["ratios"],
                          "requests": result["requests"], "verified": result["verified"]}
    out["rss_after_requests_mib"] = _rss_mib()
    return out


def measure(scale: float, work_dir: Path, *, smoke: bool, timeout: float) -> dict[str, Any]:
    """Generate the rule set for `scale` and measure it in a fresh process (bounded in time)."""
    from bench.generate import generate

    rules = generate(scale, work_dir / f"x{scale}" / "rules")
    cmd = [sys.executable, "-m", "bench.growth", "--child", str(rules)] + (["--smoke"] if smoke else [])
    started = time.monotonic()
    try:
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"scale": scale, "finished": False, "error": f"did not finish in {timeout:.0f} s"}
    wall = time.monotonic() - started
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or ["(no output)"]
        return {"scale": scale, "finished": False, "wall_s": wall, "error": tail[0][:500]}
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    return {"scale": scale, "finished": True, "wall_s": wall, **data}


def run(work_dir: Path, *, smoke: bool, scales: tuple[float, ...] | None = None,
        timeout_100x: float = 1800) -> dict[str, Any]:
    """Measure every scale (smoke: 1x and a few generated places, quick)."""
    scales = scales or ((1, SMOKE_SCALE) if smoke else (1, 10, 100))
    results = []
    for scale in scales:
        timeout = 120 if scale <= 1 else 600 if scale <= 10 else timeout_100x
        results.append(measure(scale, work_dir, smoke=smoke, timeout=timeout))
    return {"scales": results}


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "--child":
        sys.path.insert(0, str(ROOT))
        print(json.dumps(child(sys.argv[2], smoke="--smoke" in sys.argv)))
    else:
        print(json.dumps(run(ROOT / "bench" / ".work" / "growth", smoke="--smoke" in sys.argv), indent=1))
