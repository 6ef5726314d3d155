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
from importlib import metadata
from pathlib import Path

import click

from .ages import age_on
from .cases import check_cases, run_cases
from .coverage import translation_gaps
from .decision import Decision
from .diff import diff_report
from .errors import RuleSetInvalid
from .explain import explain as explain_decision
from .jurisdictions import InvalidJurisdiction, Resolution
from .localise import DEFAULT_LOCALES_DIR, Localiser
from .model import CONTEXTS, LEGAL_STATUSES, MAX_AGE, RuleSet
from .render import render_decision
from .snapshot import DateNotModelled, Snapshot, load_snapshot
from .verification import verification_table

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


PLUGIN_GROUP = "rightsgate.commands"


class _Commands(click.Group):
    """The commands below, plus those other packages register under the entry-point group
    `rightsgate.commands` (pyproject.toml): `export` writes the API's exact bodies, so it
    lives in api/ (api.export), which engine never imports. A registered command is only
    imported when it is run (or `--help` lists it), so `validate` and `test` never load it.
    """

    @staticmethod
    def _registered() -> dict[str, metadata.EntryPoint]:
        return {entry.name: entry for entry in metadata.entry_points(group=PLUGIN_GROUP)}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._registered()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None:
            entry = self._registered().get(cmd_name)
            if entry is not None:
                command = entry.load()
        return command


@click.group(cls=_Commands)
def main() -> None:
    """Check, test, explain and export rightsgate's privacy rules."""


@main.command()
@rules_dir_argument
@click.option("--locales", "locales_dir", default=DEFAULT_LOCALES_DIR, show_default=True,
              type=click.Path(file_okay=False, path_type=Path), help="The gettext catalogues to check.")
@click.option("--strict-translations", is_flag=True,
              help="Stale or missing translations are errors (exit 3), not warnings.")
def validate(rules_dir: Path, locales_dir: Path, strict_translations: bool) -> None:
    """Check every rule file; list each problem with file and line."""
    snapshot = _load(rules_dir)
    ruleset = snapshot.ruleset
    classes = sum(len(t.decisions) for t in snapshot.tables.values())
    click.echo(f"ok: {len(ruleset.rules)} rules in {len(ruleset.frameworks)} frameworks, "
               f"{len(ruleset.jurisdictions)} jurisdictions, {classes} input classes, "
               f"{len(ruleset.cases)} example cases; version {snapshot.version} "
               f"({snapshot.load_seconds:.2f} s)")
    _report_translations(ruleset, locales_dir, strict_translations)


def _report_translations(ruleset: RuleSet, locales_dir: Path, strict: bool) -> None:
    """Stale or missing translations are warnings: a legal edit should not wait for its
    translations, and until they arrive those items are served in English and marked
    `fallback_locale`. `--strict-translations` makes them errors (exit 3), as CI does."""
    gaps = {tag: missing for tag, missing in translation_gaps(Localiser(locales_dir), ruleset).items()
            if missing}
    for tag, missing in sorted(gaps.items()):
        shown = ", ".join(context for context, _ in missing[:5])
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        click.secho(f"warning: {tag}: {len(missing)} text(s) without a current translation "
                    f"(stale after an English edit, or new): {shown}{more}", fg="yellow", err=True)
    if gaps:
        click.echo("translate them: pybabel extract + update (README, Translations), then fill the "
                   "empty msgstr entries", err=True)
        if strict:
            sys.exit(EXIT_INVALID)


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
@click.option("--birthdate", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Instead of --age: the age is computed on --as-of.")
@click.option("--gpc", is_flag=True, help="The browser sends Global Privacy Control.")
@click.option("--context", type=click.Choice(CONTEXTS), default="consumer", show_default=True,
              help="school: the account is provided through a school.")
@click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]), default=None)
@click.option("--locale", default=None,
              help="Also show what the person reads, in this language (de, fr-CA...).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--rules", "rules_dir", default=DEFAULT_RULES_DIR,
              type=click.Path(file_okay=False, path_type=Path))
def explain(jurisdiction: str | None, age: int | None, birthdate: datetime | None, gpc: bool,
            context: str, as_of: datetime | None, locale: str | None, as_json: bool,
            rules_dir: Path) -> None:
    """Explain a decision: every outcome, the rule and law behind it, and why."""
    if age is not None and birthdate is not None:
        raise click.UsageError("give --age or --birthdate, not both")
    snapshot = _load(rules_dir)
    day = as_of.date() if as_of else _today()
    if birthdate is not None:
        if birthdate.date() > day:
            raise click.BadParameter("is after --as-of (or today)", param_hint="--birthdate")
        age = age_on(birthdate.date(), day)
    try:
        resolution = snapshot.resolve(jurisdiction)
        decision = snapshot.decide(resolution.code, age, gpc, day, context)
    except InvalidJurisdiction as exc:
        raise click.BadParameter(str(exc), param_hint="--jurisdiction") from exc
    except DateNotModelled as exc:
        raise click.BadParameter(str(exc), param_hint="--as-of") from exc
    lines = explain_decision(snapshot.ruleset, decision, age, gpc, day)
    shown = _shown_texts(snapshot, decision, resolution, locale, day, gpc, context) if locale else None
    if as_json:
        explanations = [e.to_dict() for e in lines]
        if shown is not None:
            for entry in explanations:
                entry["shown"] = shown["texts"].get((entry["kind"], entry["id"]))
        click.echo(json.dumps({
            "jurisdiction": {"requested": resolution.requested, "code": resolution.code,
                             "matched": resolution.matched, "frameworks": list(decision.frameworks)},
            "as_of": day.isoformat(), "gpc": gpc, "context": context, "ruleset": snapshot.version,
            **({"locale": shown["locale"]} if shown else {}),
            "explanations": explanations}, indent=2, ensure_ascii=False))
        return
    click.echo(f"{resolution.code} ({resolution.matched}; frameworks: {', '.join(decision.frameworks)})"
               f", age {age if age is not None else 'not given'}, GPC {'on' if gpc else 'off'}, "
               f"{context}, as of {day}; ruleset {snapshot.version}"
               + (f"; shown in {shown['locale']}" if shown else ""))
    for line in lines:
        click.echo(f"- {line}")
        if shown and (line.kind, line.id) in shown["texts"]:
            title, text = shown["texts"][(line.kind, line.id)]
            click.echo(f"    shown: {title}: {text}")


def _shown_texts(snapshot: Snapshot, decision: Decision, resolution: Resolution, locale: str,
                 day: date, gpc: bool, context: str) -> dict:
    """What the person reads for each item, rendered exactly as the API renders it."""
    localiser = Localiser()
    tag = localiser.negotiate([locale])
    body = render_decision(snapshot, localiser, decision, resolution, tag, day, gpc, context)
    texts = {("age_gate", "age_gate"): (body["age_gate"]["title"], body["age_gate"]["text"])}
    for section, kind in (("rights", "right"), ("opt_outs", "opt_out"), ("notices", "notice")):
        for item in body[section]:
            texts[(kind, item["id"])] = (item["title"], item.get("description") or item.get("text"))
    return {"locale": tag, "texts": texts}


@main.command()
@click.argument("old_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.argument("new_dir", required=False, default=DEFAULT_RULES_DIR,
                type=click.Path(file_okay=False, path_type=Path))
@click.option("--exit-code", is_flag=True,
              help="Exit 1 when anything changed (as `git diff --exit-code` does).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def diff(old_dir: Path, new_dir: Path, exit_code: bool, as_json: bool) -> None:
    """Show what changes between two rule sets (OLD_DIR, NEW_DIR = ./rules)."""
    old, new = _load(old_dir), _load(new_dir)
    report = diff_report(old, new)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False, default=str))
    else:
        for line in report.lines():
            click.echo(line)
        click.echo(f"{len(report.changes)} change(s) in places both model, {len(report.added)} added, "
                   f"{len(report.removed)} removed, {len(report.texts)} text(s); "
                   f"from {old.version} to {new.version}")
    if exit_code and report.changed:
        sys.exit(EXIT_CASES_FAILED)


@main.command()
@click.option("--rules", "rules_dir", default=DEFAULT_RULES_DIR,
              type=click.Path(file_okay=False, path_type=Path))
def verification(rules_dir: Path) -> None:
    """Per place: how many of the effects that can apply there are verified, unverified, disputed."""
    ruleset = _load(rules_dir).ruleset
    statuses = [s for s in LEGAL_STATUSES]
    click.echo("| place | " + " | ".join(s.replace("_", " ") for s in statuses) + " |")
    click.echo("|---" * (len(statuses) + 1) + "|")
    for code, name, counts in verification_table(ruleset):
        click.echo(f"| {code} {name} | " + " | ".join(str(counts[s]) for s in statuses) + " |")


if __name__ == "__main__":  # pragma: no cover
    main()
