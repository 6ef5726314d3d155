"""The workbench's pages. Each view reads the form, asks the engine, renders a template.

Every page works without JavaScript (plain forms, GET, shareable links); the script
only adds conveniences. A wrong input re-renders the page with the message and the
field at fault, status 422, like the API's problems.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from flask import Blueprint, current_app, render_template, request

from engine import DateNotModelled, InvalidJurisdiction
from engine.ages import age_on
from engine.diff import qualified_sentence, upcoming_changes
from engine.explain import explain
from engine.matrix import age_matrix, opt_out_ids
from engine.model import LEGAL_STATUSES, MAX_AGE
from engine.sentences import readable, what_changed
from engine.verification import verification_table

from ..errors import ApiProblem
from ..serving import Serving

bp = Blueprint("workbench", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static/workbench")

SECTIONS = (("rights", "right"), ("opt_outs", "opt_out"), ("notices", "notice"))
WATCHLIST = "WATCHLIST"


class FormError(ValueError):
    """A form field the page cannot use; shown next to the form."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass
class Inputs:
    place: str
    age: int | None
    birthdate: date | None
    gpc: bool
    as_of: date
    context: str
    lang: str
    lang2: str

    def body(self, lang: str) -> dict[str, Any]:
        """The POST /v1/decision body a frontend would send for these inputs."""
        out: dict[str, Any] = {"jurisdiction": self.place, "gpc": self.gpc, "as_of": self.as_of.isoformat(),
                               "context": self.context, "locale": lang}
        if self.birthdate is not None:
            out["birthdate"] = self.birthdate.isoformat()
        elif self.age is not None:
            out["age"] = self.age
        return out

    @property
    def effective_age(self) -> int | None:
        return age_on(self.birthdate, self.as_of) if self.birthdate else self.age


def _serving() -> Serving:
    return current_app.extensions["rightsgate"].serving  # read once per request


def _today() -> date:
    return datetime.now(UTC).date()


def _day(name: str, default: date | None) -> date | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise FormError(name, f"'{raw}' is not a date: write it as YYYY-MM-DD") from None


def _inputs() -> Inputs:
    args = request.args
    age_raw = args.get("age", "").strip()
    age = None
    if age_raw:
        if not age_raw.isdigit() or int(age_raw) > MAX_AGE:
            raise FormError("age", f"'{age_raw}' is not an age: a whole number from 0 to {MAX_AGE}")
        age = int(age_raw)
    as_of = _day("as_of", _today())
    birthdate = _day("birthdate", None)
    if birthdate is not None and age is not None:
        raise FormError("birthdate", "give an age or a birthdate, not both")
    if birthdate is not None and as_of is not None and birthdate > as_of:
        raise FormError("birthdate", "the birthdate is after the date asked about")
    context = args.get("context", "consumer")
    if context not in ("consumer", "school"):
        raise FormError("context", "choose consumer or school")
    return Inputs(place=args.get("place", "").strip() or "DE", age=age, birthdate=birthdate,
                  gpc=args.get("gpc") in ("1", "on", "true"), as_of=as_of or _today(), context=context,
                  lang=args.get("lang", "").strip() or "en", lang2=args.get("lang2", "").strip() or "de")


def _page(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    serving = _serving()
    snapshot = serving.snapshot
    places = sorted(((code, jur.name) for code, jur in snapshot.ruleset.jurisdictions.items()
                     if jur.modelled), key=lambda p: p[1])
    return render_template(f"workbench/{template}", serving=serving, version=snapshot.version,
                           places=places, languages=sorted(serving.localiser.locales),
                           statuses=LEGAL_STATUSES, **context), status


def _with_form(template: str, build: Any) -> tuple[str, int]:
    """Render `template` with what `build(inputs)` returns, or with the error at fault."""
    try:
        inputs = _inputs()
    except FormError as error:
        return _page(template, 422, inputs=None, error=error, form=request.args)
    try:
        return _page(template, inputs=inputs, error=None, form=request.args, **build(inputs))
    except FormError as error:
        return _page(template, 422, inputs=inputs, error=error, form=request.args)


def _resolve(inputs: Inputs) -> tuple[Any, Any]:
    snapshot = _serving().snapshot
    try:
        resolution = snapshot.resolve(inputs.place)
        return resolution, snapshot.decide(resolution.code, inputs.effective_age, inputs.gpc,
                                           inputs.as_of, inputs.context)
    except InvalidJurisdiction as error:
        raise FormError("place", str(error)) from None
    except DateNotModelled as error:
        raise FormError("as_of", str(error)) from None


def _shown(inputs: Inputs, lang: str) -> dict[str, Any]:
    """What the person is shown: the API's own response body for these inputs."""
    try:
        answer = _serving().decide_body(json.dumps(inputs.body(lang)).encode(), None, None)
    except ApiProblem as problem:
        detail = "; ".join(f"{e.field}: {e.message}" for e in problem.errors) or problem.detail
        raise FormError("lang" if "locale" in detail else "place", detail) from None
    return json.loads(answer.body)


def _items(body: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    items = {("age_gate", "age_gate"): body["age_gate"]}
    for section, kind in SECTIONS:
        for item in body[section]:
            items[(kind, item["id"])] = item
    return items


@bp.get("/")
def index() -> tuple[str, int]:
    """The places, how much of each is verified, and the way into every view."""
    table = verification_table(_serving().snapshot.ruleset)
    return _page("index.html", table=table)


@bp.get("/preview")
def preview() -> tuple[str, int]:
    """What the end user sees, beside the reasons: rule, citation, legal status."""

    def build(inputs: Inputs) -> dict[str, Any]:
        resolution, decision = _resolve(inputs)
        body = _shown(inputs, inputs.lang)
        shown = _items(body)
        reasons = explain(_serving().snapshot.ruleset, decision, inputs.effective_age, inputs.gpc,
                          inputs.as_of)
        return {"resolution": resolution, "body": body,
                "rows": [(reason, shown.get((reason.kind, reason.id), {})) for reason in reasons]}

    return _with_form("preview.html", build)


@bp.get("/matrix")
def matrix() -> tuple[str, int]:
    """Age bands x GPC for one place: the age gate and each opt-out's mechanism."""

    def build(inputs: Inputs) -> dict[str, Any]:
        resolution, _ = _resolve(inputs)
        try:
            rows = age_matrix(_serving().snapshot, resolution.code, inputs.as_of, inputs.context)
        except DateNotModelled as error:
            raise FormError("as_of", str(error)) from None
        catalog = _serving().snapshot.ruleset.catalog
        columns = [(oid, catalog[("opt_out", oid)].title if ("opt_out", oid) in catalog else oid)
                   for oid in opt_out_ids(rows)]
        return {"resolution": resolution, "rows": rows, "columns": columns}

    return _with_form("matrix.html", build)


@bp.get("/languages")
def languages() -> tuple[str, int]:
    """Two languages side by side; fallbacks to English and untranslated fields marked."""

    def build(inputs: Inputs) -> dict[str, Any]:
        resolution, _ = _resolve(inputs)
        left, right = _shown(inputs, inputs.lang), _shown(inputs, inputs.lang2)
        right_items = _items(right)
        pairs = [(key, item, right_items.get(key, {})) for key, item in _items(left).items()]
        return {"resolution": resolution, "left": left, "right": right, "pairs": pairs}

    return _with_form("languages.html", build)


@bp.get("/changes")
def changes() -> tuple[str, int]:
    """The live rules against the working copy, in sentences grouped by place and age band."""
    draft = current_app.extensions["rightsgate.draft"]
    if draft.directory is None:
        return _page("changes.html", comparison=None, grouped={})
    serving = _serving()
    comparison = draft.compare(serving.snapshot, serving.localiser, _today())
    grouped: dict[tuple[str, str], dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    report = comparison.report
    if report is not None:
        for change in readable(list(report.changes)):
            name = report.place_names.get(change.jurisdiction, change.jurisdiction)
            said = qualified_sentence(change, report.wording)
            grouped[(change.jurisdiction, name)][change.ages].append(said)
    return _page("changes.html", comparison=comparison, grouped={k: dict(v) for k, v in grouped.items()},
                 draft_dir=draft.directory.name)


@bp.get("/upcoming")
def upcoming() -> tuple[str, int]:
    """What changes on which date, for whom; and what the rules keep an eye on."""
    try:
        since = _day("from", _today()) or _today()
    except FormError as error:
        return _page("upcoming.html", 422, error=error, by_day={}, watchlist=[], since=_today())
    snapshot = _serving().snapshot
    by_day: dict[date, dict[tuple[str, str], list[str]]] = defaultdict(lambda: defaultdict(list))
    for change in readable(upcoming_changes(snapshot, since)):
        name = snapshot.ruleset.jurisdictions[change.jurisdiction].name
        by_day[change.as_of][(change.jurisdiction, name)].append(
            f"{change.ages}: {what_changed(change, snapshot.ruleset)}"
            + ("" if change.gpc is None else (" (with GPC)" if change.gpc else " (without GPC)")))
    watchlist = [(rule.id, str(rule.location), rule.notes) for rule in snapshot.ruleset.rules
                 if rule.notes and WATCHLIST in rule.notes]
    return _page("upcoming.html", error=None, since=since, watchlist=watchlist,
                 by_day={day: dict(places) for day, places in sorted(by_day.items())})
