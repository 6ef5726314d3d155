"""`rightsgate export DIR`: the age-less decision space as static files, byte-identical to the API.

A decision without age or birthdate depends only on the place, GPC, the language and the
day, so all of them can be written once and served by any static host or CDN without
the service. Each file holds exactly the body `GET /v1/decision?jurisdiction=X&gpc=...`
answers in that language on the export's day: the bytes come from the API's own Serving
(`decide_query`, the path every request takes), not from a second serialiser. That is
why this command lives in api/ and not in engine/ (engine never imports api; moving the
response schemas, templates and encoding into engine would split the request path in
two); engine.cli finds it through the `rightsgate.commands` entry point.

Layout (also in index.json, and README, *Static export*):

    DIR/index.json                                  rule set version, as_of, layout, places, locales
    DIR/decisions/{jurisdiction}/{gpc}/{locale}.json  {gpc}: `gpc` (GPC on) or `no-gpc`
    DIR/age-gates/{jurisdiction}.json               age bands -> gate, per context (engine.age_gates)
    DIR/ui-strings/{locale}.json                    the component's words (GET /v1/ui-strings), so
                                                    <rightsgate-panel export-base=...> needs no API

The export is built in a sibling directory and swapped in at the end, so DIR never holds
half an export; a DIR that exists must be empty or a previous export.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click

from engine.age_gates import age_gate_table
from engine.bundle import BundleStore
from engine.errors import RuleSetInvalid
from engine.localise import SOURCE_LOCALE, Localiser
from engine.snapshot import DateNotModelled, Snapshot, load_snapshot

from .arguments import today_utc
from .config import ConfigError, load_settings
from .serving import RuleFiles, Serving, ServingSettings

FORMAT = 1
INDEX = "index.json"
GPC_DIRS = {True: "gpc", False: "no-gpc"}
DECISION_PATH = "decisions/{jurisdiction}/{gpc}/{locale}.json"
AGE_GATE_PATH = "age-gates/{jurisdiction}.json"
UI_STRINGS_PATH = "ui-strings/{locale}.json"
EXIT_INVALID = 3  # as engine.cli: the rule set is invalid


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote."""

    directory: Path
    version: str
    as_of: date
    places: tuple[str, ...]
    locales: tuple[str, ...]
    files: int
    seconds: float
    skipped: dict[str, str]  # place -> earliest supported day, for places not modelled on as_of


def export_serving(snapshot: Snapshot, localiser: Localiser) -> Serving:
    """A Serving that answers like the service's but keeps nothing (every body is asked once)."""
    return Serving(snapshot, localiser, locales_digest="export", rules=RuleFiles(digest="export"),
                   locales_content="", settings=ServingSettings(cache_size=0))


def decision_query(code: str, gpc: bool, locale: str, as_of: date) -> bytes:
    """The query string whose answer a decision file holds."""
    return f"jurisdiction={code}&gpc={'true' if gpc else 'false'}&locale={locale}&as_of={as_of}".encode()


def _encode(data: Any) -> bytes:
    return (json.dumps(data, ensure_ascii=False, indent=1) + "\n").encode()


def write_export(serving: Serving, directory: Path, as_of: date, places: Sequence[str] | None = None,
                 locales: Sequence[str] | None = None) -> ExportResult:
    """Write the export of `serving`'s rule set for `as_of` into `directory` (replacing a previous one)."""
    started = time.perf_counter()
    snapshot = serving.snapshot
    places = tuple(places) if places is not None else tuple(sorted(snapshot.tables))
    locales = tuple(locales) if locales is not None else tuple(serving.localiser.locales)
    directory = Path(directory)
    _check_target(directory)
    staging = directory.with_name(f".{directory.name}.export-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    files = 0
    exported: list[str] = []
    skipped: dict[str, str] = {}
    ends: list[date] = []
    try:
        for code in places:
            try:
                gates = age_gate_table(snapshot, code, as_of)
            except DateNotModelled as error:
                skipped[code] = error.earliest.isoformat()
                continue
            exported.append(code)
            if gates["valid"]["until"]:
                ends.append(date.fromisoformat(gates["valid"]["until"]))
            gate_file = staging / AGE_GATE_PATH.format(jurisdiction=code)
            gate_file.parent.mkdir(parents=True, exist_ok=True)
            gate_file.write_bytes(_encode({"ruleset": {"version": snapshot.version}, **gates}))
            files += 1
            for gpc, gpc_dir in GPC_DIRS.items():
                until = snapshot.decide(code, None, gpc, as_of).valid_until
                if until is not None:
                    ends.append(until)
                folder = staging / "decisions" / code / gpc_dir
                folder.mkdir(parents=True)
                for tag in locales:
                    answer = serving.decide_query(decision_query(code, gpc, tag, as_of), None, None)
                    if answer.locale != tag:  # a shipped tag always serves itself
                        raise RuntimeError(f"locale {tag} was served as {answer.locale}")
                    (folder / f"{tag}.json").write_bytes(answer.body)
                    files += 1
        for tag in locales:
            words = serving.reference("ui_strings", tag, None)
            if words.locale != tag:
                raise RuntimeError(f"locale {tag} was served as {words.locale}")
            words_file = staging / UI_STRINGS_PATH.format(locale=tag)
            words_file.parent.mkdir(parents=True, exist_ok=True)
            words_file.write_bytes(words.body)
            files += 1
        index = {
            "format": FORMAT,
            "ruleset": {"version": snapshot.version, "as_of": as_of.isoformat()},
            # The last day every exported answer stays as it is (null: no date in the rules
            # changes them); each body's `ruleset.as_of` is the export's day all the same.
            "valid_until": min(ends).isoformat() if ends else None,
            "request": "GET /v1/decision?jurisdiction={jurisdiction}&gpc={true|false}&locale={locale}"
                       f"&as_of={as_of.isoformat()}",
            "layout": {"decision": DECISION_PATH, "gpc": {d: g for g, d in GPC_DIRS.items()},
                       "age_gate": AGE_GATE_PATH, "ui_strings": UI_STRINGS_PATH},
            "places": exported,
            "not_modelled_on_as_of": skipped,
            "locales": list(locales),
            "default_locale": SOURCE_LOCALE,
            "aliases": dict(snapshot.ruleset.aliases),
            "territories": dict(sorted(snapshot.territories.items())),
            "files": files + 1,
        }
        (staging / INDEX).write_bytes(_encode(index))
        _swap_in(staging, directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return ExportResult(directory, snapshot.version, as_of, tuple(exported), locales, files + 1,
                        time.perf_counter() - started, skipped)


def _check_target(directory: Path) -> None:
    """Refuse to replace a directory that is neither empty nor an export."""
    if directory.is_symlink() or (directory.exists() and not directory.is_dir()):
        raise click.ClickException(f"{directory} exists and is not a directory")
    if directory.is_dir() and any(directory.iterdir()):
        try:
            index = json.loads((directory / INDEX).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            index = None
        if not isinstance(index, dict) or index.get("format") != FORMAT:
            raise click.ClickException(f"{directory} is not empty and holds no rightsgate export "
                                       f"({INDEX}); choose a new or empty directory")


def _swap_in(staging: Path, directory: Path) -> None:
    old = None
    if directory.exists():
        old = directory.with_name(f".{directory.name}.old-{os.getpid()}")
        os.replace(directory, old)
    os.replace(staging, directory)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _choices(text: str | None, known: Iterable[str], what: str) -> list[str] | None:
    """The comma-separated `text` checked against `known` (None: all of them)."""
    if text is None:
        return None
    wanted = [item.strip() for item in text.split(",") if item.strip()]
    known_set = set(known)
    unknown = [item for item in wanted if item not in known_set]
    if unknown or not wanted:
        raise click.BadParameter(f"not {what}: {', '.join(unknown) or '(none given)'}; "
                                 f"choose from {', '.join(sorted(known_set))}")
    return list(dict.fromkeys(wanted))


@click.command("export")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--rules", "rules_dir", type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="The rule files (default: RIGHTSGATE_RULES_DIR, else rules/).")
@click.option("--locales", "locales_dir", type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="The translations (default: RIGHTSGATE_LOCALES_DIR, else locales/).")
@click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]),
              help="The day the answers are for (default: today, UTC).")
@click.option("--places", help="Comma-separated jurisdiction codes (default: every modelled place).")
@click.option("--languages", help="Comma-separated shipped locale tags (default: every shipped language).")
def export_command(directory: Path, rules_dir: Path | None, locales_dir: Path | None,
                   as_of: datetime | None, places: str | None, languages: str | None) -> None:
    """Write every age-less decision (place x GPC x language) as the API's exact bytes, an
    age-gate table per place and index.json into DIRECTORY."""
    try:
        settings = load_settings({k: v for k, v in (("RIGHTSGATE_RULES_DIR", rules_dir),
                                                    ("RIGHTSGATE_LOCALES_DIR", locales_dir)) if v})
    except ConfigError as error:
        raise click.ClickException(str(error)) from None
    bundle_dir = settings["RIGHTSGATE_BUNDLE_DIR"]
    try:
        snapshot = load_snapshot(settings["RIGHTSGATE_RULES_DIR"],
                                 BundleStore(bundle_dir) if bundle_dir is not None else None)
    except RuleSetInvalid as error:
        click.secho(f"rules invalid: {len(error.problems)} problem(s); nothing was exported", fg="red",
                    err=True)
        for problem in error.problems:
            click.echo(f"  {problem}", err=True)
        sys.exit(EXIT_INVALID)
    serving = export_serving(snapshot, Localiser(settings["RIGHTSGATE_LOCALES_DIR"]))
    result = write_export(serving, directory, as_of.date() if as_of else today_utc(),
                          _choices(places, snapshot.tables, "a modelled place"),
                          _choices(languages, serving.localiser.locales, "a shipped language"))
    for code, earliest in result.skipped.items():
        click.secho(f"warning: {code} is modelled from {earliest} only; not exported", fg="yellow", err=True)
    click.echo(f"exported {len(result.places)} places x 2 GPC x {len(result.locales)} languages "
               f"({result.files} files, rule set {result.version}, as of {result.as_of}) to "
               f"{result.directory} in {result.seconds:.1f} s")


__all__ = ["UI_STRINGS_PATH", "ExportResult", "decision_query", "export_command", "export_serving",
           "write_export"]
