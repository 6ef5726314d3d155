"""Example cases: tests written as data next to the rules (Cerbos-style).

A case gives an input and what must come out, including the rule that must decide:

    - name: Austrian 13-year-old needs a parent
      input: {jurisdiction: AT, age: 13}
      expect:
        age_gate: {status: parental_consent_required, digital_consent_age: 14, rule: gdpr.art8.at}
        rights:
          complain: {rule: gdpr.complain}
          deindexation: absent
        absent: {notices: [gpc_status]}      # the same, as lists per section

Input may also give `birthdate` (the age is computed on `as_of`), `context` and `as_of`;
`expect: {error: {field: as_of}}` says the request must be refused for that field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from .ages import age_on
from .compiler import policy_rules
from .errors import ProblemList, RuleProblem
from .jurisdictions import InvalidJurisdiction
from .model import Case, thaw
from .snapshot import DateNotModelled, Snapshot
from .suggest import did_you_mean

SECTIONS = {"rights": "right", "opt_outs": "opt_out", "notices": "notice"}
TOP_KEYS = ("jurisdiction", "age_gate", *SECTIONS, "absent", "error")


@dataclass
class CaseResult:
    case: Case
    failures: list[str] = field(default_factory=list)
    deciding_rules: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


def _expanded(expect: dict) -> dict:
    """`absent: {notices: [a, b]}` is shorthand for `notices: {a: absent, b: absent}`."""
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in expect.items() if k != "absent"}
    absent = expect.get("absent") or {}
    if isinstance(absent, dict):
        for section, ids in absent.items():
            if section in SECTIONS and isinstance(ids, list):
                out.setdefault(section, {}).update({i: "absent" for i in ids})
    return out


def _named_rules(expect: dict) -> list[str]:
    found = []
    if isinstance(expect.get("error"), dict):
        found.append("(refused)")
    gate = expect.get("age_gate") or {}
    if isinstance(gate, dict) and gate.get("rule"):
        found.append(gate["rule"])
    for section in SECTIONS:
        for value in (expect.get(section) or {}).values():
            if isinstance(value, dict) and value.get("rule"):
                found.append(value["rule"])
    return found


def check_cases(snapshot: Snapshot) -> ProblemList:
    """Check that every case is well formed and names rules that exist."""
    problems = ProblemList()
    ruleset = snapshot.ruleset
    known_rules = {r.id for r in ruleset.rules} | {r.id for r in policy_rules(ruleset)}
    for case in ruleset.cases:
        loc = case.location
        raw_expect = thaw(case.expect)
        for key in raw_expect:
            if key not in TOP_KEYS:
                problems.add(loc.file, loc.line, f"case '{case.name}': unknown expectation '{key}'",
                             did_you_mean(key, TOP_KEYS), code="schema")
        absent = raw_expect.get("absent")
        if absent is not None and not (isinstance(absent, dict) and all(
                k in SECTIONS and isinstance(v, list) for k, v in absent.items())):
            problems.add(loc.file, loc.line,
                         f"case '{case.name}': absent must map rights/opt_outs/notices to lists of ids",
                         "e.g. `absent: {notices: [gpc_status]}`", code="schema")
        expect = _expanded(raw_expect)
        named = _named_rules(expect)
        if not named:
            problems.add(loc.file, loc.line,
                         f"case '{case.name}' does not name the rule that must decide it",
                         "add `rule: <rule id>` to the age_gate or an item", code="schema")
        for rule_id in named:
            if rule_id not in known_rules and rule_id != "(refused)":
                problems.add(loc.file, loc.line, f"case '{case.name}': unknown rule '{rule_id}'",
                             did_you_mean(rule_id, known_rules), code="unknown_id")
        for section, kind in SECTIONS.items():
            for item_id, value in (expect.get(section) or {}).items():
                if (kind, item_id) not in ruleset.catalog:
                    choices = [i for (k, i) in ruleset.catalog if k == kind]
                    problems.add(loc.file, loc.line,
                                 f"case '{case.name}': unknown {kind.replace('_', '-')} '{item_id}'",
                                 did_you_mean(item_id, choices), code="unknown_id")
                if not (value in ("present", "absent") or isinstance(value, dict)):
                    problems.add(loc.file, loc.line,
                                 f"case '{case.name}': {section}.{item_id} must be present, absent "
                                 "or a mapping of expected fields", code="schema")
    return problems


def _compare(prefix: str, expected: dict, actual: dict, failures: list[str]) -> None:
    """Every expected field must match; a nested mapping (a `response`) need only name the
    fields the case is about."""
    for key, want in expected.items():
        got = actual.get(key)
        if key == "default" and isinstance(want, bool):
            want = "on" if want else "off"
        if isinstance(want, dict) and isinstance(got, Mapping):
            _compare(f"{prefix}.{key}", want, got, failures)
        elif got != want:
            failures.append(f"{prefix}.{key}: expected {want!r}, got {got!r}")


def run_case(snapshot: Snapshot, case: Case, today: date) -> CaseResult:
    """Evaluate one case and compare it with what it expects."""
    result = CaseResult(case)
    data = thaw(case.input)
    expect = _expanded(thaw(case.expect))
    day = data.get("as_of") or today
    age = data.get("age")
    if data.get("birthdate") is not None:
        age = age_on(data["birthdate"], day)
    try:
        resolution = snapshot.resolve(data.get("jurisdiction"))
        decision = snapshot.decide(resolution.code, age, data.get("gpc", False), day,
                                   data.get("context", "consumer"))
    except InvalidJurisdiction as exc:
        _refused(result, expect, "jurisdiction", str(exc))
        return result
    except DateNotModelled as exc:
        _refused(result, expect, "as_of", str(exc))
        return result
    if "error" in expect:
        result.failures.append(f"expected the request to be refused ({expect['error']}), "
                               "but it was answered")
        return result
    if "jurisdiction" in expect:
        _compare("jurisdiction", expect["jurisdiction"],
                 {"code": resolution.code, "matched": resolution.matched}, result.failures)
    if "age_gate" in expect:
        _compare("age_gate", expect["age_gate"], dict(decision.age_gate), result.failures)
        result.deciding_rules.append(f"age_gate: {decision.age_gate.get('rule')}")
    for section in SECTIONS:
        present = {item["id"]: dict(item) for item in getattr(decision, section)}
        for item_id, want in (expect.get(section) or {}).items():
            got = present.get(item_id)
            if want == "absent":
                if got is not None:
                    result.failures.append(f"{section}.{item_id}: expected absent, but rule "
                                           f"{got.get('rule')} gives it")
            elif got is None:
                result.failures.append(f"{section}.{item_id}: expected present, but no rule gives it")
            else:
                result.deciding_rules.append(f"{section}.{item_id}: {got.get('rule')}")
                if isinstance(want, dict):
                    _compare(f"{section}.{item_id}", want, got, result.failures)
    return result


def _refused(result: CaseResult, expect: dict, field_name: str, message: str) -> None:
    want = expect.get("error")
    if not isinstance(want, dict):
        result.failures.append(f"{field_name}: {message}")
    elif want.get("field") != field_name:
        result.failures.append(f"refused for {field_name} ({message}), expected {want.get('field')}")
    else:
        result.deciding_rules.append(f"refused: {field_name}: {message}")


def run_cases(snapshot: Snapshot, today: date) -> list[CaseResult]:
    """Run every example case of the snapshot's rule set."""
    return [run_case(snapshot, case, today) for case in snapshot.ruleset.cases]


def failing_case_problems(snapshot: Snapshot, today: date) -> list[RuleProblem]:
    """Each failing example case as a located problem: a set whose cases fail is not
    activated by the service (issue 13, the reload gate), as `rightsgate test` would fail."""
    problems = []
    for result in run_cases(snapshot, today):
        if result.passed:
            continue
        location = result.case.location
        problems.append(RuleProblem(
            location.file, location.line,
            f"example case '{result.case.name}' fails: {'; '.join(result.failures)}",
            "fix the rule, or the case if the law changed (run `rightsgate test` to see why)",
            code="case_failed"))
    return problems
