"""Load a rules directory into a validated, immutable RuleSet.

Each file is read safely (`yamlsource`), checked against its schema (`schemas`), and
turned into model objects; then `validate.cross_check` looks across files. Every
problem found is collected with its file and line, and `RuleSetInvalid` lists them all.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from marshmallow import Schema, ValidationError, fields

from . import schemas
from .errors import ProblemList, RuleSetInvalid
from .model import (
    AgeRange,
    Case,
    CatalogEntry,
    Condition,
    Effect,
    Framework,
    Jurisdiction,
    Location,
    Policy,
    Rule,
    RuleSet,
    freeze,
)
from .suggest import did_you_mean
from .yamlsource import LineDict, LineList, RuleFileError, load_yaml

CATALOG_SECTIONS = {"age_gate": "age_gate", "rights": "right", "opt_outs": "opt_out",
                    "notices": "notice"}
MAX_FILES = 200


def _line_at(raw: Any, path: list) -> int | None:
    """Return the line of the deepest node along `path` in the parsed YAML."""
    line = getattr(raw, "line", None)
    node = raw
    for key in path:
        if isinstance(node, LineDict) and key in node:
            line = node.line_of(key)
            node = node[key]
        elif isinstance(node, LineList) and isinstance(key, int) and 0 <= key < len(node):
            line = node.line_of(key)
            node = node[key]
        else:
            break
    return line


def _value_at(raw: Any, path: list) -> Any:
    node = raw
    for key in path:
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def _unwrap(current: Any) -> Any:
    while True:
        if isinstance(current, fields.List):
            current = current.inner
        elif isinstance(current, fields.Nested):
            current = current.schema
        else:
            return current


def _schema_fields_at(schema: Schema, path: list) -> list[str]:
    """Return the field names allowed at `path`, for did-you-mean on unknown keys."""
    current: Any = schema
    for key in path:
        current = _unwrap(current)
        if isinstance(key, int) and not isinstance(current, fields.Dict):
            continue  # a list index: the list was unwrapped above
        if isinstance(current, Schema):
            current = current.fields.get(key)
        elif isinstance(current, fields.Dict):
            current = current.value_field
        else:
            return []
    current = _unwrap(current)
    return list(current.fields) if isinstance(current, Schema) else []


def _flatten(messages: Any, path: list) -> list[tuple[list, str]]:
    if isinstance(messages, dict):
        out = []
        for key, value in messages.items():
            sub = path if key == "_schema" else [*path, key]
            out.extend(_flatten(value, sub))
        return out
    if isinstance(messages, list):
        out = []
        for item in messages:
            out.extend(_flatten(item, path))
        return out
    return [(path, str(messages))]


def _where_in_words(raw: Any, path: list) -> str:
    """`rule gdpr.art8.de, status` rather than `rules.12.status`: what the legal team wrote."""
    words: list[str] = []
    node = raw
    for index, key in enumerate(path):
        child = _value_at(node, [key])
        if isinstance(key, int):  # a list index, or a bare NO key (YAML's false) naming its entry
            name = child.get("id") or child.get("name") if isinstance(child, dict) else None
            parent = str(path[index - 1]) if index else "item"
            singular = parent[:-1] if parent.endswith("s") else parent
            if words and words[-1] == parent:
                words.pop()
            words.append(f"{singular} {name}" if name else f"{singular} #{key + 1}")
        else:
            words.append(str(key))
        node = child
    return ", ".join(words) or "file"


def _report_schema_errors(
    problems: ProblemList, file: str, raw: Any, schema: Schema, error: ValidationError
) -> None:
    for path, message in _flatten(error.messages, []):
        line = _line_at(raw, path)
        where = ".".join(str(p) for p in path) or "file"
        suggestion = None
        if message == "Unknown field." and path:
            allowed = _schema_fields_at(schema, path[:-1])
            suggestion = did_you_mean(path[-1], allowed)
            if not suggestion and allowed:
                suggestion = "allowed here: " + ", ".join(sorted(allowed))
            if not isinstance(path[-1], str) or re.match(r"^[\d.\s()-]+$", str(path[-1])):
                suggestion = ("a comma inside {...} starts a new key: put the whole value in quotes")
            message = f"unknown key '{path[-1]}'"
        elif message == "Missing data for required field.":
            message = f"'{path[-1]}' is required" if path else "required data missing"
            where_parent = path[:-1]
            line = _line_at(raw, where_parent)
        else:
            value = _value_at(raw, path)
            where = _where_in_words(raw, path)
            if message.startswith("Must be one of: "):
                choices = [c.strip() for c in message[len("Must be one of: "):].rstrip(".").split(",")]
                suggestion = did_you_mean(value, choices) or f"use one of: {', '.join(choices)}"
                message = f"{where}: '{value}' is not an allowed value"
            else:
                message = f"{where}: {message}"
            if (any(p is False for p in path) or value is False
                    or (isinstance(value, list) and any(v is False for v in value))):
                suggestion = ("YAML reads a bare NO, no, off or false as the value false: "
                              "write 'NO' in quotes for Norway")
        problems.add(file, line, message, suggestion, code="schema")


def _load_file(
    problems: ProblemList, root: Path, path: Path, schema: Schema
) -> tuple[dict | None, Any]:
    name = str(path.relative_to(root))
    try:
        raw = load_yaml(path, name)
    except RuleFileError as exc:
        problems.items.append(exc.problem)
        return None, None
    if not isinstance(raw, LineDict):
        problems.add(name, getattr(raw, "line", 1), "the file must be a YAML mapping (key: value)",
                     code="schema")
        return None, raw
    try:
        return schema.load(raw), raw
    except ValidationError as exc:
        _report_schema_errors(problems, name, raw, schema, exc)
        return None, raw


def _jurisdictions(problems: ProblemList, data: dict, raw: LineDict, file: str) -> tuple[dict, dict]:
    entries = data["jurisdictions"]
    table = raw["jurisdictions"]
    result: dict[str, Jurisdiction] = {}
    aliases: dict[str, str] = {}

    def path_of(code: str, seen: tuple = ()) -> tuple[str, ...]:
        parent = entries[code].get("parent")
        if parent is None:
            return (code,)
        if parent in seen or parent not in entries:
            return (code,)
        return (*path_of(parent, (*seen, code)), code)

    def frameworks_of(code: str, seen: tuple = ()) -> tuple[str, ...]:
        entry = entries[code]
        if entry.get("frameworks"):
            return tuple(entry["frameworks"])
        parent = entry.get("parent")
        if parent and parent in entries and parent not in seen:
            return frameworks_of(parent, (*seen, code))
        return ()

    for code, entry in entries.items():
        line = table.line_of(code)
        parent = entry.get("parent")
        seen, current = [code], parent
        while current is not None and current in entries:
            if current in seen:
                problems.add(file, _line_at(table, [code, "parent"]),
                             f"{code}: parent cycle {' -> '.join([*seen, current])}",
                             "a jurisdiction cannot be its own ancestor", code="invalid")
                break
            seen.append(current)
            current = entries[current].get("parent")
        if parent is not None and parent not in entries:
            problems.add(file, _line_at(table, [code, "parent"]), f"{code}: unknown parent '{parent}'",
                         did_you_mean(parent, entries), code="unknown_code")
        frameworks = frameworks_of(code)
        if not frameworks:
            problems.add(file, line, f"{code}: no frameworks (give `frameworks:` or a parent that has them)",
                         code="schema")
        result[code] = Jurisdiction(
            code=code,
            name=entry["name"],
            kind=entry["kind"],
            parent=parent,
            frameworks=frameworks,
            aliases=tuple(entry.get("aliases", ())),
            authority=freeze(entry["authority"]) if entry["authority"] else None,
            modelled=entry.get("modelled", True),
            path=path_of(code),
            location=Location(file, line),
            territories=tuple(t.upper() for t in entry.get("territories", ())),
        )
        for alias in entry.get("aliases", ()):
            key = alias.upper()
            if key in aliases or key in entries:
                problems.add(file, _line_at(table, [code, "aliases"]),
                             f"alias '{alias}' is used twice (also {aliases.get(key, key)})",
                             code="duplicate")
            aliases[key] = code
    if "DEFAULT" not in entries:
        problems.add(file, raw.line, "there must be a DEFAULT entry for places not modelled",
                     code="schema")
    return result, aliases


def _catalog(data: dict, raw: LineDict, file: str) -> dict:
    catalog: dict[tuple[str, str], CatalogEntry] = {}
    for section, kind in CATALOG_SECTIONS.items():
        for item_id, item in data[section].items():
            catalog[(kind, item_id)] = CatalogEntry(
                kind=kind,
                id=item_id,
                title=item["title"],
                text=item["text"],
                placeholders=tuple(item.get("placeholders", ())),
                location=Location(file, _line_at(raw, [section, item_id])),
            )
    for item_id, item in data.get("wordings", {}).items():
        catalog[("wording", item_id)] = CatalogEntry(
            kind="wording",
            id=item_id,
            title=item["title"],
            text=item["text"],
            placeholders=tuple(item.get("placeholders", ())),
            location=Location(file, _line_at(raw, ["wordings", item_id])),
        )
    for fw_id, item in data["frameworks"].items():
        catalog[("framework", fw_id)] = CatalogEntry(
            "framework", fw_id, item["title"], "", (), Location(file, _line_at(raw, ["frameworks", fw_id]))
        )
    return catalog


def _policy(data: dict, raw: LineDict, file: str) -> Policy:
    return Policy(
        minimum_signup_age=data["minimum_signup_age"],
        consent_age_where_law_is_silent=data["consent_age_where_law_is_silent"],
        honour_gpc_outside_california=data["honour_gpc_outside_california"],
        locations=freeze({k: Location(file, raw.line_of(k)) for k in data if k in raw}),
        established_in=tuple(code.upper() for code in data["established_in"]),
        minimum_signup_age_in_school_context=data["minimum_signup_age_in_school_context"],
        online_platform=data["online_platform"],
        offers_financial_incentives=data["offers_financial_incentives"],
        serves_k12_schools=data["serves_k12_schools"],
        predominantly_accessed_by_children=data["predominantly_accessed_by_children"],
    )


def _effects(rule: dict, raw_rule: LineDict, file: str, basis: str) -> tuple[Effect, ...]:
    then = rule["then"]
    raw_then = raw_rule.get("then", LineDict())
    effects = []
    shared_response = then.get("response")
    if "age_gate" in then:
        gate = dict(then["age_gate"])
        effects.append(
            Effect("age_gate", "age_gate", freeze(gate), False, rule["citation"], rule["status"],
                   Location(file, _line_at(raw_then, ["age_gate"])))
        )
    for section, kind in (("rights", "right"), ("opt_outs", "opt_out"), ("notices", "notice")):
        for index, item in enumerate(then.get(section, ())):
            values = {k: v for k, v in item.items()
                      if k not in ("id", "citation", "status", "modify")}
            if kind == "right" and "response" not in values and shared_response is not None:
                values["response"] = shared_response
            if kind == "right" and values.get("response") is None:
                values.pop("response", None)
            effects.append(
                Effect(
                    kind=kind,
                    id=item["id"],
                    fields=freeze(values),
                    modify=item.get("modify", False),
                    citation=item.get("citation") or rule["citation"],
                    legal_status=item.get("status") or rule["status"],
                    location=Location(file, _line_at(raw_then, [section, index])),
                )
            )
    return tuple(effects)


def _in_force(rule: dict, data: dict) -> tuple:
    """A rule's first and last day: its own dates inside its framework's."""
    starts = [d for d in (rule.get("effective_from"), data.get("effective_from")) if d]
    ends = [d for d in (rule.get("effective_until"), data.get("effective_until")) if d]
    return (max(starts) if starts else None, min(ends) if ends else None)


def _rules(problems: ProblemList, data: dict, raw: LineDict, file: str, framework: str,
           basis: str) -> list[Rule]:
    rules = []
    for index, rule in enumerate(data["rules"]):
        raw_rule = raw["rules"][index]
        when = rule.get("when", {})
        start, end = _in_force(rule, data)
        if start and end and end < start:
            problems.add(file, raw["rules"].line_of(index),
                         f"rule {rule['id']} is never in force: its dates ({start} to {end}) fall "
                         f"outside the framework's (effective_from/effective_until at the top of the file)",
                         "move the rule's dates inside the framework's, or remove the rule",
                         code="invalid")
        age = None
        if "age" in when or when.get("include_unknown_age"):
            bounds = when.get("age", {})
            age = AgeRange(bounds.get("at_least"), bounds.get("below"),
                           include_unknown=when.get("include_unknown_age", False))
        rules.append(
            Rule(
                id=rule["id"],
                framework=framework,
                summary=rule["summary"],
                when=Condition(
                    jurisdictions=tuple(when.get("jurisdiction", ())),
                    age=age,
                    gpc=when.get("gpc"),
                    effective_from=start,
                    effective_until=end,
                    context=when.get("context"),
                    policy=tuple(sorted(when.get("policy", {}).items())),
                ),
                effects=_effects(rule, raw_rule, file, basis),
                overrides=tuple(rule.get("overrides", ())),
                citation=rule["citation"],
                legal_status=rule["status"],
                source=rule["source"],
                notes=rule.get("notes"),
                basis=basis,
                location=Location(file, raw["rules"].line_of(index)),
            )
        )
    return rules


def _apply_replaces(problems: ProblemList, frameworks: dict[str, Framework],
                    rules: list[Rule]) -> list[Rule]:
    """A framework that `replaces: [default]` switches the default rules off wherever and
    whenever it is in force: each replaced rule gets the replacing framework as absent."""
    replaced_by: dict[str, list[str]] = {}
    for fw in frameworks.values():
        for target in fw.replaces:
            if target not in frameworks:
                problems.add(fw.location.file, fw.location.line,
                             f"framework '{fw.id}' replaces unknown framework '{target}'",
                             did_you_mean(target, frameworks), code="unknown_id")
            elif target == fw.id:
                problems.add(fw.location.file, fw.location.line,
                             f"framework '{fw.id}' cannot replace itself", code="invalid")
            else:
                replaced_by.setdefault(target, []).append(fw.id)
    return [replace(rule, when=replace(rule.when, frameworks_absent=(
                *rule.when.frameworks_absent, *sorted(replaced_by[rule.framework]))))
            if rule.framework in replaced_by else rule
            for rule in rules]


def _cases(data: dict, raw: LineDict, file: str) -> list[Case]:
    return [
        Case(case["name"], freeze(case["input"]), freeze(case["expect"]),
             Location(file, raw["cases"].line_of(index)))
        for index, case in enumerate(data["cases"])
    ]


def load_rules(rules_dir: str | Path) -> RuleSet:
    """Load, check and return the rule set in `rules_dir`, or raise RuleSetInvalid."""
    from .validate import cross_check

    root = Path(rules_dir)
    problems = ProblemList()
    if not root.is_dir():
        problems.add(str(root), None, "rules directory not found",
                     "pass the folder that holds jurisdictions.yaml", code="missing")
        problems.raise_if_any()
    required = {
        "jurisdictions.yaml": schemas.JurisdictionsFileSchema(),
        "catalog.yaml": schemas.CatalogFileSchema(),
        "policy.yaml": schemas.PolicyFileSchema(),
    }
    loaded: dict[str, tuple[dict | None, Any]] = {}
    for name, schema in required.items():
        path = root / name
        if not path.is_file():
            problems.add(name, None, "file missing", f"every rules directory needs {name}",
                         code="missing")
            continue
        loaded[name] = _load_file(problems, root, path, schema)

    framework_paths = sorted((root / "frameworks").glob("*.yaml"))
    case_paths = sorted((root / "cases").glob("*.yaml"))
    if not framework_paths:
        problems.add("frameworks/", None, "no framework files found",
                     "put one YAML file per framework in frameworks/", code="missing")
    if len(framework_paths) + len(case_paths) > MAX_FILES:
        problems.add(str(root), None, f"more than {MAX_FILES} rule files", code="too_large")
        problems.raise_if_any()
    for stray in sorted(root.glob("*.yml")) + sorted((root / "frameworks").glob("*.yml")):
        problems.add(str(stray.relative_to(root)), None, "file ignored: rule files end in .yaml",
                     f"rename it to {stray.stem}.yaml", code="misnamed")

    jurisdictions: dict = {}
    aliases: dict = {}
    catalog: dict = {}
    policy = None
    data, raw = loaded.get("jurisdictions.yaml", (None, None))
    if data:
        jurisdictions, aliases = _jurisdictions(problems, data, raw, "jurisdictions.yaml")
    data, raw = loaded.get("catalog.yaml", (None, None))
    if data:
        catalog = _catalog(data, raw, "catalog.yaml")
    data, raw = loaded.get("policy.yaml", (None, None))
    if data:
        policy = _policy(data, raw, "policy.yaml")

    frameworks: dict[str, Framework] = {}
    rules: list[Rule] = []
    for path in framework_paths:
        name = str(path.relative_to(root))
        data, raw = _load_file(problems, root, path, schemas.FrameworkFileSchema())
        if not data:
            continue
        fw_id = data["framework"]
        if fw_id in frameworks:
            problems.add(name, raw.line_of("framework"),
                         f"framework '{fw_id}' is also defined in {frameworks[fw_id].location.file}",
                         code="duplicate")
            continue
        basis = data.get("basis", "law")
        frameworks[fw_id] = Framework(fw_id, data["law"], basis, data.get("source_url"),
                                      Location(name, raw.line_of("framework")),
                                      data.get("effective_from"), data.get("effective_until"),
                                      tuple(data.get("replaces", ())))
        rules.extend(_rules(problems, data, raw, name, fw_id, basis))
    rules = _apply_replaces(problems, frameworks, rules)

    cases: list[Case] = []
    for path in case_paths:
        name = str(path.relative_to(root))
        data, raw = _load_file(problems, root, path, schemas.CasesFileSchema())
        if data:
            cases.extend(_cases(data, raw, name))

    problems.raise_if_any()
    ruleset = RuleSet(
        jurisdictions=freeze(jurisdictions),
        aliases=freeze(aliases),
        catalog=freeze(catalog),
        frameworks=freeze(frameworks),
        rules=tuple(rules),
        policy=policy,
        cases=tuple(cases),
    )
    cross_check(ruleset, problems)
    problems.raise_if_any()
    return ruleset


__all__ = ["RuleSetInvalid", "load_rules"]
