"""`rightsgate`: the legal team's command line.

Exit codes (as in Cerbos, "invalid" and "failed" are told apart):
  0  all good
  1  example cases failed (`test`)
  2  wrong usage (click)
  3  the rule set is invalid (nothing was activated)
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import click

from .cases import check_cases, run_cases
from .diff import diff_snapshots
from .errors import RuleSetInvalid
from .explain import explain as explain_decision
from .jurisdictions import InvalidJurisdiction
from .model import MAX_AGE
from .snapshot import Snapshot, load_snapshot

EXIT_OK = 0
EXIT_CASES_FAILED = 1
EXIT_INVALID = 3
DEFAULT_RULES_DIR = Path(__file__).resolve().parent.parent / "rules"


def _today() -> date:
    return datetime.now(UTC).date()


def _load(rules_dir: Path) -> Snapshot:
    """Load the rules, or print every problem and exit with EXIT_INVALID."""
    try:
        snapshot = load_snapshot(rules_dir)
    except RuleSetInvalid as exc:
        _print_problems(exc)
        sys.exit(EXIT_INVALID)
    problems = check_cases(snapshot)
    if problems:
        _print_problems(RuleSetInvalid(problems.items))
        sys.exit(EXIT_INVALID)
    return snapshot


def _print_problems(exc: RuleSetInvalid) -> None:
    click.secho(f"rules invalid: {len(exc.problems)} problem(s); nothing was activated", fg="red",
                err=True)
    for problem in exc.problems:
        click.echo(f"  {problem}", err=True)


rules_dir_argument = click.argument(
    "rules_dir", required=False, default=DEFAULT_RULES_DIR,
    type=click.Path(file_okay=False, path_type=Path))


@click.group()
def main() -> None:
    """Check, test and explain rightsgate's privacy rules."""


@main.command()
@rules_dir_argument
def validate(rules_dir: Path) -> None:
    """Check every rule file; list each problem with file and line."""
    snapshot = _load(rules_dir)
    ruleset = snapshot.ruleset
    classes = sum(len(t.decisions) for t in snapshot.tables.values())
    click.echo(f"ok: {len(ruleset.rules)} rules in {len(ruleset.frameworks)} frameworks, "
               f"{len(ruleset.jurisdictions)} jurisdictions, {classes} input classes, "
               f"{len(ruleset.cases)} example cases; version {snapshot.version} "
               f"({snapshot.load_seconds:.2f} s)")


@main.command()
@rules_dir_argument
@click.option("--today", type=click.DateTime(["%Y-%m-%d"]), help="Date used by cases without as_of.")
def test(rules_dir: Path, today: datetime | None) -> None:
    """Run the example cases next to the rules."""
    snapshot = _load(rules_dir)
    results = run_cases(snapshot, today.date() if today else _today())
    failed = [r for r in results if not r.passed]
    for result in failed:
        case = result.case
        click.secho(f"FAIL {case.location}: {case.name}", fg="red")
        click.echo(f"     input: {json.dumps(dict(case.input), default=str)}")
        for failure in result.failures:
            click.echo(f"     {failure}")
        if result.deciding_rules:
            click.echo(f"     decided by: {'; '.join(result.deciding_rules)}")
    click.echo(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    sys.exit(EXIT_CASES_FAILED if failed else EXIT_OK)


@main.command()
@click.option("--jurisdiction", "-j", default=None, help="ISO code or alias (AT, US-CA, UK...).")
@click.option("--age", type=click.IntRange(0, MAX_AGE), default=None)
@click.option("--gpc", is_flag=True, help="The browser sends Global Privacy Control.")
@click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]), default=None)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--rules", "rules_dir", default=DEFAULT_RULES_DIR,
              type=click.Path(file_okay=False, path_type=Path))
def explain(jurisdiction: str | None, age: int | None, gpc: bool, as_of: datetime | None,
            as_json: bool, rules_dir: Path) -> None:
    """Explain a decision: every outcome, the rule and law behind it, and why."""
    snapshot = _load(rules_dir)
    day = as_of.date() if as_of else _today()
    try:
        resolution = snapshot.resolve(jurisdiction)
    except InvalidJurisdiction as exc:
        raise click.BadParameter(str(exc), param_hint="--jurisdiction") from exc
    decision = snapshot.decide(resolution.code, age, gpc, day)
    lines = explain_decision(snapshot.ruleset, decision, age, gpc, day)
    if as_json:
        click.echo(json.dumps({
            "jurisdiction": {"requested": resolution.requested, "code": resolution.code,
                             "matched": resolution.matched, "frameworks": list(decision.frameworks)},
            "as_of": day.isoformat(), "gpc": gpc, "ruleset": snapshot.version,
            "explanations": [e.to_dict() for e in lines]}, indent=2, ensure_ascii=False))
        return
    click.echo(f"{resolution.code} ({resolution.matched}; frameworks: {', '.join(decision.frameworks)})"
               f", age {age if age is not None else 'not given'}, GPC {'on' if gpc else 'off'}, "
               f"as of {day}; ruleset {snapshot.version}")
    for line in lines:
        click.echo(f"- {line}")


@main.command()
@click.argument("old_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.argument("new_dir", required=False, default=DEFAULT_RULES_DIR,
                type=click.Path(file_okay=False, path_type=Path))
def diff(old_dir: Path, new_dir: Path) -> None:
    """Show what changes between two rule sets (OLD_DIR, NEW_DIR = ./rules)."""
    old, new = _load(old_dir), _load(new_dir)
    changes = diff_snapshots(old, new)
    for change in changes:
        click.echo(f"- {change}")
    click.echo(f"{len(changes)} change(s) from {old.version} to {new.version}")


if __name__ == "__main__":  # pragma: no cover
    main()
