"""A corpus of broken rule sets: each must be refused with a located, plain-words problem.

Each directory under tests/engine/broken/ holds only the rule files that differ from the
shipped rules (plus an optional `DELETE` list) and an `expect.yaml`:

    description: what is broken (for people)
    file: path relative to the rules dir      line: int, or null where no line applies
    code: the RuleProblem code (or a list of acceptable codes)
    message: a substring of the problem's message
    message_also: a second substring of it                 (optional)
    suggestion: a substring of its suggestion             (optional)
    suggestion_excludes: text the suggestion must not hold (optional)
    generate: the name of a generator below               (optional)

Large, binary or hostile inputs are generated here at run time, never committed. Every
case must fail fast (< 5 s) and in bounded memory (< 200 MB: tracemalloc peak for the
generated cases, or every case with RIGHTSGATE_TRACE_ALL_CASES=1; peak-RSS growth always), and must
raise RuleSetInvalid (any other exception, or accepting the set, is an engine defect).
"""

from __future__ import annotations

import filecmp
import itertools
import json
import os
import resource
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from engine import RuleProblem, RuleSetInvalid, load_snapshot

from .helpers_rules import (
    EXPECT_KEYS,
    PROBLEM_CODES,
    REPO,
    REQUIRED_EXPECT_KEYS,
    RULES_DIR,
    build_rules,
    case_dirs,
    deleted_files,
    overlay_files,
    problem_matches,
    read_expect,
    run_bounded,
)

TRACE_ALL = os.environ.get("RIGHTSGATE_TRACE_ALL_CASES") == "1"
# A hang guard, not a speed target (those live in bench/): a hostile file must be refused
# in bounded time even on a loaded shared machine; a loop or a bomb takes far longer.
MAX_SECONDS = 60.0
MAX_PEAK_BYTES = 200 * 1024 * 1024
FIFTY_MB = 50 * 1024 * 1024

# -- generators: each gets the built rules dir and a scratch dir, and may return a check
# -- to run after the load (for side effects that must not have happened).

PostCheck = Callable[[], None] | None


def gen_non_utf8(rules: Path, scratch: Path) -> PostCheck:
    """Insert a Latin-1 encoded comment as line 3 of coppa.yaml."""
    path = rules / "frameworks" / "coppa.yaml"
    lines = path.read_bytes().splitlines(keepends=True)
    lines.insert(2, "# Résumé of the rule, saved by an editor as Latin-1\n".encode("latin-1"))
    path.write_bytes(b"".join(lines))
    return None


def gen_control_character(rules: Path, scratch: Path) -> PostCheck:
    """Paste a vertical tab (U+000B, Word's Shift+Enter) into the first summary of coppa.yaml
    that says "a parent" (the line expect.yaml names)."""
    path = rules / "frameworks" / "coppa.yaml"
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    index = next(i for i, line in enumerate(lines)
                 if line.startswith("    summary: ") and " a parent" in line)
    lines[index] = lines[index].replace(" a parent", "\x0ba parent", 1)
    assert "\x0b" in lines[index]
    path.write_text("".join(lines), encoding="utf-8")
    return None


def gen_too_large(rules: Path, scratch: Path) -> PostCheck:
    """Grow coppa.yaml to 50 MB of plausible YAML comments, written in chunks."""
    path = rules / "frameworks" / "coppa.yaml"
    chunk = ("# generated filler that no rule file should ever contain " + "x" * 60 + "\n") * 8192
    data = chunk.encode()
    with path.open("ab") as handle:
        while handle.tell() < FIFTY_MB:
            handle.write(data)
    assert path.stat().st_size >= FIFTY_MB
    return None


def gen_deep_nesting(rules: Path, scratch: Path) -> PostCheck:
    """A new framework file whose line 2 opens 10,000 nested lists."""
    depth = 10_000
    (rules / "frameworks" / "deep.yaml").write_text(
        "framework: deep\nnotes: " + "[" * depth + "]" * depth + "\n", encoding="utf-8")
    return None


def gen_alias_bomb(rules: Path, scratch: Path) -> PostCheck:
    """Billion laughs: nine levels of nine aliases each (9**9 strings if expanded)."""
    names = "abcdefghi"
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for prev, name in itertools.pairwise(names):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    (rules / "frameworks" / "bomb.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return None


def gen_python_tag(rules: Path, scratch: Path) -> PostCheck:
    """Point the overlay's os.system command at a marker file that must never appear."""
    marker = scratch / "pwned"
    path = rules / "frameworks" / "coppa.yaml"
    text = path.read_text(encoding="utf-8")
    assert "@MARKER@" in text
    path.write_text(text.replace("@MARKER@", str(marker)), encoding="utf-8")

    def check() -> None:
        assert not marker.exists(), "the !!python tag was executed: the marker file was created"

    return check


GENERATORS: dict[str, Callable[[Path, Path], PostCheck]] = {
    "non_utf8": gen_non_utf8,
    "control_character": gen_control_character,
    "too_large": gen_too_large,
    "deep_nesting": gen_deep_nesting,
    "alias_bomb": gen_alias_bomb,
    "python_tag": gen_python_tag,
}

CASES = case_dirs()


def _listing(problems: list[RuleProblem]) -> str:
    return "\n".join(f"  [{p.code}] {p.file}:{p.line}: {p.message} ({p.suggestion})"
                     for p in problems[:40])


@pytest.mark.parametrize("case_dir", CASES, ids=[c.name for c in CASES])
def test_broken_rule_set_is_refused(case_dir: Path, tmp_path: Path) -> None:
    expect = read_expect(case_dir)
    rules = build_rules(case_dir, tmp_path)
    post_check = None
    if "generate" in expect:
        post_check = GENERATORS[expect["generate"]](rules, tmp_path)

    # tracemalloc quadruples the cost of a load (0.2 s -> 0.9 s), so every generated
    # (large, binary or hostile) case is traced, and the rest are bounded by peak RSS unless
    # RIGHTSGATE_TRACE_ALL_CASES=1 asks for tracemalloc on every case.
    traced = "generate" in expect or TRACE_ALL
    outcome = run_bounded(lambda: load_snapshot(rules), trace_memory=traced)

    if post_check is not None:
        post_check()
    assert outcome.error is not None, f"{case_dir.name}: the broken rule set was accepted"
    assert isinstance(outcome.error, RuleSetInvalid), (
        f"{case_dir.name}: raised {type(outcome.error).__name__}: {outcome.error!r} "
        "instead of RuleSetInvalid")
    problems = outcome.error.problems
    assert problems, "RuleSetInvalid without problems"
    assert any(problem_matches(p, expect) for p in problems), (
        f"{case_dir.name}: no problem matches {expect}\nproblems reported:\n{_listing(problems)}")
    assert outcome.seconds < MAX_SECONDS, f"took {outcome.seconds:.2f} s"
    assert outcome.rss_growth_bytes < MAX_PEAK_BYTES, f"RSS grew {outcome.rss_growth_bytes / 2**20:.0f} MB"
    if traced:
        assert outcome.traced_peak_bytes is not None
        assert outcome.traced_peak_bytes < MAX_PEAK_BYTES, (
            f"tracemalloc peak {outcome.traced_peak_bytes / 2**20:.0f} MB")
    for problem in problems:
        assert problem.code in PROBLEM_CODES, f"undocumented problem code {problem.code!r}"
        assert problem.message.strip(), "a problem without a message"


# -- the corpus itself ------------------------------------------------------------------


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 35


@pytest.mark.parametrize("case_dir", CASES, ids=[c.name for c in CASES])
def test_corpus_case_is_well_formed(case_dir: Path) -> None:
    """Each case is valid data and really changes the shipped rules (no stale overlays)."""
    expect = read_expect(case_dir)
    assert isinstance(expect, dict)
    assert REQUIRED_EXPECT_KEYS <= set(expect), f"missing {REQUIRED_EXPECT_KEYS - set(expect)}"
    assert set(expect) <= EXPECT_KEYS, f"unknown keys {set(expect) - EXPECT_KEYS}"
    codes = expect["code"] if isinstance(expect["code"], list) else [expect["code"]]
    assert codes and set(codes) <= PROBLEM_CODES
    assert expect["line"] is None or (isinstance(expect["line"], int) and expect["line"] > 0)
    assert isinstance(expect["message"], str) and expect["message"]
    if "generate" in expect:
        assert expect["generate"] in GENERATORS
    changed = [rel for rel in overlay_files(case_dir)
               if not (RULES_DIR / rel).is_file()
               or not filecmp.cmp(case_dir / rel, RULES_DIR / rel, shallow=False)]
    assert changed or deleted_files(case_dir) or "generate" in expect, "the case changes nothing"
    for rel in overlay_files(case_dir):
        assert (case_dir / rel).stat().st_size < 100_000, "big inputs must be generated, not committed"
        (case_dir / rel).read_bytes().decode("utf-8")  # binary inputs must be generated too


CHILD_LOAD = """
import json, sys, time
from engine import RuleSetInvalid, load_snapshot
started = time.perf_counter()
try:
    load_snapshot(sys.argv[1])
    outcome = {"kind": "accepted"}
except RuleSetInvalid as exc:
    outcome = {"kind": "invalid", "problems": [p.to_dict() for p in exc.problems]}
except BaseException as exc:
    outcome = {"kind": "crash", "error": f"{type(exc).__name__}: {exc}"[:300]}
outcome["seconds"] = time.perf_counter() - started
print(json.dumps(outcome))
"""


CHILD_ADDRESS_SPACE = 768 * 1024**2


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (CHILD_ADDRESS_SPACE, CHILD_ADDRESS_SPACE))


def test_rule_file_symlinked_to_a_device_is_refused(tmp_path: Path) -> None:
    """Git can commit a symlink: frameworks/zero.yaml -> /dev/zero has st_size 0, so a size
    check on stat() alone lets an endless read through. Run in a child process with a 768 MiB
    address-space limit, so a failing engine cannot take the test run down with it."""
    rules = tmp_path / "rules"
    shutil.copytree(RULES_DIR, rules)
    (rules / "frameworks" / "zero.yaml").symlink_to("/dev/zero")
    proc = subprocess.run([sys.executable, "-c", CHILD_LOAD, str(rules)], capture_output=True,
                          text=True, timeout=60, preexec_fn=_limit_memory, cwd=REPO, check=False)
    assert proc.stdout.strip(), f"the child died: exit {proc.returncode}\n{proc.stderr[-2000:]}"
    outcome = json.loads(proc.stdout.strip().splitlines()[-1])
    assert outcome["kind"] == "invalid", outcome
    assert any(p["file"] == "frameworks/zero.yaml" for p in outcome["problems"]), outcome["problems"]
    assert outcome["seconds"] < MAX_SECONDS


def test_shipped_rules_load(snapshot) -> None:
    """The baseline: without a case's changes the rules are valid, so each refusal is the case's.

    `snapshot` is the session's compile of the shipped rules (tests/conftest.py): it loaded."""
    assert not snapshot.from_bundle
    assert snapshot.decisions()


# -- how a problem reads ----------------------------------------------------------------


def _problems_of(case: str, tmp_path: Path) -> list[RuleProblem]:
    rules = build_rules(Path(__file__).parent / "broken" / case, tmp_path)
    with pytest.raises(RuleSetInvalid) as info:
        load_snapshot(rules)
    return info.value.problems


def test_problem_renders_file_line_message_suggestion(tmp_path: Path) -> None:
    problems = _problems_of("unknown_right_id", tmp_path)
    [problem] = [p for p in problems if p.code == "unknown_id"]
    assert str(problem) == f"{problem.file}:{problem.line}: {problem.message} ({problem.suggestion})"
    assert str(problem) == (
        "frameworks/alberta.yaml:12: rule ab.rights: unknown right id 'acess' (did you mean 'access'?)")


def test_problem_without_line_renders_file_message_suggestion(tmp_path: Path) -> None:
    problems = _problems_of("missing_catalog", tmp_path)
    rendered = [str(p) for p in problems]
    assert "catalog.yaml: file missing (every rules directory needs catalog.yaml)" in rendered


def test_problem_without_suggestion_renders_without_parentheses() -> None:
    assert str(RuleProblem("policy.yaml", 7, "something is wrong")) == "policy.yaml:7: something is wrong"
    assert str(RuleProblem("catalog.yaml", None, "no text")) == "catalog.yaml: no text"


def test_rule_set_invalid_lists_every_problem(tmp_path: Path) -> None:
    problems = _problems_of("unknown_key_typo", tmp_path)
    error = RuleSetInvalid(problems)
    text = str(error)
    head, *lines = text.splitlines()
    count = len(problems)
    assert head == f"rule set invalid: {count} problem{'s' if count != 1 else ''}"
    assert lines == [f"  {p}" for p in problems]
    assert "frameworks/coppa.yaml:18: unknown key 'citaton' (did you mean 'citation'?)" in text
