"""What a rule change changes: compare two Snapshots over the whole input space.

Both snapshots are asked every jurisdiction x age (0-130 and none) x GPC x context x
every date boundary either of them knows, and each difference is reported once for the
run of ages it covers. Places only one side models are reported as added or removed (a
new state's hundreds of item-level differences say less than "added, with these laws"),
and English texts that changed are listed too: they change what people read.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from .classes import EPOCH
from .decision import Decision
from .model import MAX_AGE, RuleSet
from .sentences import readable, what_changed
from .snapshot import DateNotModelled, Snapshot


@dataclass(frozen=True)
class Change:
    jurisdiction: str
    ages: str
    gpc: bool | None  # None: with or without GPC
    as_of: date | None  # None: at any date
    what: str
    before: object
    after: object
    context: str = "consumer"

    def __str__(self) -> str:
        gpc = "" if self.gpc is None else f", GPC {'on' if self.gpc else 'off'}"
        when = f", as of {self.as_of}" if self.as_of else ""
        school = ", school account" if self.context == "school" else ""
        return (f"{self.jurisdiction}, {self.ages}{gpc}{school}{when}: {self.what}: "
                f"{_word(self.before)} -> {_word(self.after)}")

    def to_dict(self) -> dict:
        return {"jurisdiction": self.jurisdiction, "ages": self.ages, "gpc": self.gpc,
                "context": self.context, "as_of": self.as_of.isoformat() if self.as_of else None,
                "what": self.what, "before": self.before, "after": self.after, "text": str(self)}


def qualified_sentence(change: Change, wording: RuleSet | None) -> str:
    """The change's sentence with its GPC, account kind and date (the place and ages are
    the headings it is listed under)."""
    said = (what_changed(change, wording) if wording is not None
            else f"{change.what}: {change.before} -> {change.after}")
    also = []
    if change.gpc is not None:
        also.append("with GPC" if change.gpc else "without GPC")
    if change.context in ("school", "consumer"):
        also.append(f"{change.context} accounts")
    if change.as_of:
        also.append(f"from {change.as_of.isoformat()}")
    return f"{said} ({', '.join(also)})" if also else said


def _word(value: object) -> str:
    """A value as the legal team reads it (never Python's None)."""
    return "none" if value is None else str(value)


@dataclass(frozen=True)
class DiffReport:
    """Everything an edit changes, in the order a reader wants it."""

    old_version: str
    new_version: str
    added: tuple[tuple[str, str, tuple[str, ...]], ...]  # (code, name, frameworks)
    removed: tuple[tuple[str, str], ...]
    frameworks_added: tuple[str, ...]
    frameworks_removed: tuple[str, ...]
    texts: tuple[str, ...]  # catalogue entries whose English words changed
    changes: tuple[Change, ...]  # places both sides model
    place_names: dict = field(default_factory=dict, compare=False)  # code -> name
    wording: RuleSet | None = field(default=None, compare=False, repr=False)  # names items in sentences

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed or self.frameworks_added or self.frameworks_removed
                    or self.texts or self.changes or self.old_version != self.new_version)

    def lines(self) -> list[str]:
        out = []
        if self.added:
            out.append(f"{len(self.added)} place(s) added:")
            out += [f"  + {code} {name}: {', '.join(fws)}" for code, name, fws in self.added]
        if self.removed:
            out.append(f"{len(self.removed)} place(s) removed:")
            out += [f"  - {code} {name}" for code, name in self.removed]
        if self.frameworks_added:
            out.append(f"frameworks added: {', '.join(self.frameworks_added)}")
        if self.frameworks_removed:
            out.append(f"frameworks removed: {', '.join(self.frameworks_removed)}")
        if self.texts:
            out.append(f"{len(self.texts)} English text(s) changed (their translations are now stale):")
            out += [f"  ~ {t}" for t in self.texts]
        places: dict[str, dict[str, list[str]]] = {}
        names = {**{c: n for c, n in self.removed}, **self.place_names}
        for change in readable(list(self.changes)):
            bands = places.setdefault(change.jurisdiction, {})
            bands.setdefault(change.ages, []).append(qualified_sentence(change, self.wording))
        for code, bands in places.items():
            count = sum(len(v) for v in bands.values())
            out.append(f"{names.get(code, code)} ({code}): {count} change(s)")
            for ages, said in bands.items():
                out.append(f"  {ages}:")
                out += [f"    - {line}" for line in said]
        return out

    def to_dict(self) -> dict:
        return {"from": self.old_version, "to": self.new_version, "changed": self.changed,
                "added": [{"code": c, "name": n, "frameworks": list(f)} for c, n, f in self.added],
                "removed": [{"code": c, "name": n} for c, n in self.removed],
                "frameworks_added": list(self.frameworks_added),
                "frameworks_removed": list(self.frameworks_removed),
                "texts": list(self.texts),
                "changes": [{**c.to_dict(), "sentence": qualified_sentence(c, self.wording)}
                            for c in self.changes]}


def _flat(decision: Decision | None) -> dict[str, object]:
    if decision is None:
        return {}
    out: dict[str, object] = {}
    for key in ("status", "digital_consent_age", "basis", "consent_by", "minimum_age", "rule"):
        out[f"age_gate.{key}"] = decision.age_gate.get(key)
    for section in ("rights", "opt_outs", "notices"):
        for item in getattr(decision, section):
            keys = (("mechanism", "default", "gpc_applied", "consent_by", "knowledge")
                    if section == "opt_outs" else ())
            out[f"{section}.{item['id']}"] = "present"
            for key in keys:
                out[f"{section}.{item['id']}.{key}"] = item.get(key)
            out[f"{section}.{item['id']}.rule"] = item.get("rule")
    return out


def _days(old: Snapshot, new: Snapshot, code: str) -> list[date]:
    days = set()
    for snap in (old, new):
        table = snap.tables[code]
        days.update(table.axes.day_starts)
        if table.supported_from:
            days.add(table.supported_from)
    return sorted(days)


def _age_label(low: int | None, high: int | None) -> str:
    if low is None:
        return "age not given"
    return f"age {low}" if low == high else f"ages {low}-{high}"


def _flat_at(snap: Snapshot, code: str, age: int | None, gpc: bool, day: date,
             context: str) -> dict[str, object]:
    try:
        return _flat(snap.decide(code, age, gpc, day, context))
    except DateNotModelled:
        return {"answer": "refused: date before the rules model this place"}


def _segments(age_starts: set[int]) -> list[tuple[int | None, int | None]]:
    """The unknown age, then runs of ages no age band of either side splits: every age of
    a run has the same answer on both sides, so one age stands for the run."""
    starts = sorted({0, *age_starts})
    ends = [*(s - 1 for s in starts[1:]), MAX_AGE]
    return [(None, None), *zip(starts, ends, strict=True)]


def _changes(code: str, before_at, after_at, contexts: list[str], as_of: date | None,
             age_starts: set[int]) -> list[Change]:
    """Every field that differs between two answers for `code`, ages grouped into runs."""
    changes: list[Change] = []
    segments = _segments(age_starts)
    for context in contexts:
        for gpc in (False, True):
            runs: dict[tuple, list] = {}
            for low, high in segments:
                before = before_at(low, gpc, context)
                after = after_at(low, gpc, context)
                for key in sorted(set(before) | set(after)):
                    if before.get(key) != after.get(key):
                        change = (key, before.get(key, "absent"), after.get(key, "absent"))
                        span = runs.setdefault(change, [])
                        if span and low is not None and span[-1][1] == low - 1:
                            span[-1][1] = high
                        else:
                            span.append([low, high])
            for (key, was, now), spans in runs.items():
                if [None, None] in spans and [0, MAX_AGE] in spans:
                    spans = [[-1, -1]] + [s for s in spans if s not in ([None, None], [0, MAX_AGE])]
                # One change for all the people it concerns: "age not given and ages 16-130".
                ages = " and ".join("everyone" if low == -1 else _age_label(low, high) for low, high in spans)
                # A place whose rules never tell the account kinds apart: it concerns any.
                changes.append(Change(code, ages, gpc, as_of, key, was, now,
                                      context if len(contexts) > 1 else "any"))
    return _merge_contexts(changes)


def _merge_contexts(changes: list[Change]) -> list[Change]:
    """Report a change once (context `any`) when school and consumer accounts share it."""
    return _merge_across(changes, "context", "any")


def diff_snapshots(old: Snapshot, new: Snapshot) -> list[Change]:
    """Every difference in the places both rule sets model, ages grouped into runs."""
    changes: list[Change] = []
    for code in sorted(set(old.tables) & set(new.tables)):
        contexts = sorted(set(old.tables[code].contexts) | set(new.tables[code].contexts))
        ongoing: set[tuple] = set()  # changes of the previous date interval
        for day in _days(old, new, code):
            now = set()
            for change in _changes(
                    code,
                    lambda age, gpc, context, day=day, code=code: _flat_at(old, code, age, gpc, day, context),
                    lambda age, gpc, context, day=day, code=code: _flat_at(new, code, age, gpc, day, context),
                    contexts, None if day == EPOCH else day,
                    {*old.tables[code].axes.age_starts, *new.tables[code].axes.age_starts}):
                key = _unchanging(change)
                now.add(key)
                if key not in ongoing:  # said once, from the first day of a run of intervals
                    changes.append(change)
            ongoing = now
    return _merge_gpc(changes)


def _unchanging(change: Change) -> tuple:
    return (change.ages, change.gpc, change.context, change.what, repr(change.before), repr(change.after))


def upcoming_changes(snapshot: Snapshot, today: date, codes: list[str] | None = None) -> list[Change]:
    """What changes after `today` as laws and their phases take effect: for each day a
    place's answers change, every difference from the day before (`as_of` = that day)."""
    changes: list[Change] = []
    for code in codes or sorted(snapshot.tables):
        table = snapshot.tables[code]
        for day in sorted(d for d in table.axes.day_starts if d > today):
            eve = day - timedelta(days=1)
            changes += _changes(
                code,
                lambda age, gpc, context, eve=eve, code=code: _flat_at(
                    snapshot, code, age, gpc, eve, context),
                lambda age, gpc, context, day=day, code=code: _flat_at(
                    snapshot, code, age, gpc, day, context),
                list(table.contexts), day, set(table.axes.age_starts))
    return _merge_gpc(changes)


def diff_report(old: Snapshot, new: Snapshot) -> DiffReport:
    """The whole comparison: places and laws added or removed, texts, then each change."""
    old_places, new_places = old.ruleset.jurisdictions, new.ruleset.jurisdictions
    texts = []
    for key in sorted(set(old.ruleset.catalog) | set(new.ruleset.catalog)):
        before, after = old.ruleset.catalog.get(key), new.ruleset.catalog.get(key)
        label = f"{key[0].replace('_', '-')} {key[1]}"
        if before is None:
            texts.append(f"{label}: new")
        elif after is None:
            texts.append(f"{label}: removed")
        elif (before.title, before.text) != (after.title, after.text):
            what = "title" if before.title != after.title else "text"
            texts.append(f"{label} {what}: '{getattr(before, what)}' -> '{getattr(after, what)}'")
    return DiffReport(
        old_version=old.version, new_version=new.version,
        added=tuple((c, new_places[c].name, new_places[c].frameworks)
                    for c in sorted(set(new.tables) - set(old.tables))),
        removed=tuple((c, old_places[c].name) for c in sorted(set(old.tables) - set(new.tables))),
        frameworks_added=tuple(sorted(set(new.ruleset.frameworks) - set(old.ruleset.frameworks))),
        frameworks_removed=tuple(sorted(set(old.ruleset.frameworks) - set(new.ruleset.frameworks))),
        texts=tuple(texts),
        changes=tuple(diff_snapshots(old, new)),
        place_names={c: j.name for c, j in new_places.items()},
        wording=new.ruleset,
    )


def _merge_gpc(changes: list[Change]) -> list[Change]:
    """Report a change once (GPC None) when it is the same with and without GPC."""
    return _merge_across(changes, "gpc", None)


def _merge_across(changes: list[Change], attribute: str, both: object) -> list[Change]:
    """One change, with `attribute` set to `both`, where two differ only in `attribute`."""
    keyed: dict[tuple, list[Change]] = {}
    for change in changes:
        fields = {**vars(change), attribute: None}
        key = tuple(repr(fields[name]) for name in sorted(fields))
        keyed.setdefault(key, []).append(change)
    merged: list[Change] = []
    for group in keyed.values():
        merged += [replace(group[0], **{attribute: both})] if len(group) == 2 else group
    return merged


__all__ = ["Change", "DiffReport", "diff_report", "diff_snapshots", "qualified_sentence", "upcoming_changes"]
