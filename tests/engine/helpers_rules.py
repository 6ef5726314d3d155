"""Shared helpers for the rule-engine tests: where the shipped rules live, how to build a
broken copy of them from a corpus case, and how to run a load under time and memory bounds."""

from __future__ import annotations

import resource
import shutil
import signal
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
RULES_DIR = REPO / "rules"
BROKEN_DIR = Path(__file__).resolve().parent / "broken"

# Keys an expect.yaml may hold (a typo in the corpus itself must fail too).
EXPECT_KEYS = {"description", "file", "line", "code", "message", "message_also", "suggestion",
               "suggestion_excludes", "generate"}
REQUIRED_EXPECT_KEYS = {"file", "line", "code", "message"}
PROBLEM_CODES = {"yaml", "schema", "duplicate_key", "encoding", "too_large", "missing", "misnamed",
                 "unknown_id", "unknown_code", "duplicate", "unreachable", "invalid", "text",
                 "citation", "policy", "contradiction", "gap", "data_in_text", "status", "case_failed"}
CONTROL_FILES = {"expect.yaml", "DELETE"}


def case_dirs() -> list[Path]:
    """Every corpus case, sorted by name."""
    return sorted(p for p in BROKEN_DIR.iterdir() if p.is_dir())


def read_expect(case_dir: Path) -> dict[str, Any]:
    return yaml.safe_load((case_dir / "expect.yaml").read_text(encoding="utf-8"))


def overlay_files(case_dir: Path) -> list[Path]:
    """The rule files a case replaces or adds (relative to the rules directory)."""
    return sorted(p.relative_to(case_dir) for p in case_dir.rglob("*")
                  if p.is_file() and p.relative_to(case_dir).as_posix() not in CONTROL_FILES)


def deleted_files(case_dir: Path) -> list[str]:
    path = case_dir / "DELETE"
    if not path.is_file():
        return []
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def build_rules(case_dir: Path, dest: Path) -> Path:
    """Copy the shipped rules to `dest`, then apply the case's DELETE list and overlay files."""
    rules = dest / "rules"
    shutil.copytree(RULES_DIR, rules)
    for rel in deleted_files(case_dir):
        target = rules / rel
        assert target.is_file(), f"{case_dir.name}: DELETE names {rel}, which the shipped rules lack"
        target.unlink()
    for rel in overlay_files(case_dir):
        target = rules / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(case_dir / rel, target)
    return rules


def problem_matches(problem: Any, expect: dict[str, Any]) -> bool:
    codes = expect["code"] if isinstance(expect["code"], list) else [expect["code"]]
    if problem.file != expect["file"] or problem.line != expect["line"] or problem.code not in codes:
        return False
    if expect["message"] not in problem.message:
        return False
    if "message_also" in expect and expect["message_also"] not in problem.message:
        return False
    suggestion = problem.suggestion or ""
    if "suggestion" in expect and expect["suggestion"] not in suggestion:
        return False
    return not ("suggestion_excludes" in expect and expect["suggestion_excludes"] in suggestion)


@dataclass
class Bounded:
    """What happened when a callable ran under bounds."""

    result: Any
    error: Exception | None
    seconds: float
    traced_peak_bytes: int | None  # tracemalloc peak (Python allocations), when traced
    rss_growth_bytes: int  # how far the process's peak RSS rose above its RSS at the start


class HardTimeout(Exception):
    """The watchdog fired: the call ran far past its time bound."""


def _rss_bytes() -> int:
    with open("/proc/self/statm", encoding="ascii") as handle:
        return int(handle.read().split()[1]) * resource.getpagesize()


def _peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def run_bounded(func: Callable[[], Any], *, trace_memory: bool,
                hard_limit_seconds: int = 30) -> Bounded:
    """Run `func`, measuring wall time and memory; never hang forever.

    Memory is measured two ways. The process's peak RSS (which also counts C allocations,
    such as durable_rules', that tracemalloc cannot see) only ever grows, so
    `rss_growth_bytes` is an upper bound on what this call added at its peak. With
    `trace_memory`, tracemalloc's peak of Python allocations is measured too; it slows the
    pure-Python YAML parser about 4x, so callers use it where memory is what is at stake.
    A SIGALRM watchdog interrupts Python code that runs past `hard_limit_seconds`.
    """

    def on_alarm(signum: int, frame: object) -> None:
        raise HardTimeout(f"still running after {hard_limit_seconds} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(hard_limit_seconds)
    rss_before = _rss_bytes()
    if trace_memory:
        tracemalloc.start()
    started = time.perf_counter()
    result = error = None
    traced_peak = None
    try:
        result = func()
    except Exception as exc:  # reported to the caller, who asserts on it
        error = exc
    finally:
        seconds = time.perf_counter() - started
        if trace_memory:
            traced_peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    return Bounded(result, error, seconds, traced_peak, max(0, _peak_rss_bytes() - rss_before))
